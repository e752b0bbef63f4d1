package report

import (
	"bufio"
	"io"
	"strings"
)

// writeMarkdown renders a GitHub-flavoured markdown table. Pipes and
// backslashes in cells are escaped; the cells must already be clean.
func writeMarkdown(w io.Writer, header []string, rows [][]string) error {
	bw := bufio.NewWriter(w)
	line := func(cells []string) {
		bw.WriteString("|")
		for _, c := range cells {
			bw.WriteString(" ")
			bw.WriteString(mdEscape(c))
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
