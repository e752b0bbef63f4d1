package report

import (
	"bufio"
	"io"
	"strings"
)

// writeMarkdown renders a GitHub-flavoured markdown table. Pipes and
// backslashes in cells are escaped; the cells must already be clean. A
// cell that starts with codeSpan is written as a code span instead.
func writeMarkdown(w io.Writer, header []string, rows [][]string) error {
	bw := bufio.NewWriter(w)
	line := func(cells []string) {
		bw.WriteString("|")
		for _, c := range cells {
			bw.WriteString(" ")
			if code, ok := strings.CutPrefix(c, codeSpan); ok {
				// A code span: its text is shown as it is; no backtick in
				// it (the caller's own text, never a vendor's).
				bw.WriteString("`" + strings.ReplaceAll(code, "`", "") + "`")
			} else {
				bw.WriteString(mdEscape(c))
			}
			bw.WriteString(" |")
		}
		bw.WriteString("\n")
	}
	line(header)
	bw.WriteString("|")
	for range header {
		bw.WriteString(" --- |")
	}
	bw.WriteString("\n")
	for _, r := range rows {
		line(r)
	}
	return bw.Flush()
}

var mdReplacer = strings.NewReplacer(`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "`", "\\`")

func mdEscape(s string) string { return mdReplacer.Replace(s) }
