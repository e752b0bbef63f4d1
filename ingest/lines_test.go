package ingest_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apierr/apierr/ingest"
)

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 300<<10) // longer than the reader's buffer
	in := "a\r\nbb\n\n" + long + "\n" + strings.Repeat("y", 40) + "\nc\n" + long[:100] + "\npartial"
	lr := ingest.NewLineReader(strings.NewReader(in), 300<<10)
	want := []struct {
		line string
		err  error
	}{{"a", nil}, {"bb", nil}, {"", nil}, {long, nil}, {strings.Repeat("y", 40), nil}, {"c", nil}, {long[:100], nil}, {"partial", nil}, {"", io.EOF}}
	for i, w := range want {
		line, err := lr.Next()
		if !errors.Is(err, w.err) || string(line) != w.line {
			t.Fatalf("line %d: got %d bytes, err %v; want %d bytes, err %v", i+1, len(line), err, len(w.line), w.err)
		}
	}
	if !lr.Partial() {
		t.Fatal("Partial()=false after a last line without newline")
	}
}

func TestLineReader_TooLong(t *testing.T) {
	for _, max := range []int{10, 1000, 300 << 10} {
		huge := strings.Repeat("z", max+1)
		in := "ok1\n" + huge + "\nok2\n" + huge + "\r\n" + strings.Repeat("w", max) + "\r\n" + huge
		lr := ingest.NewLineReader(strings.NewReader(in), max)
		var got []string
		for {
			line, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			switch {
			case errors.Is(err, ingest.ErrLineTooLong):
				got = append(got, "TOO LONG")
			case err != nil:
				t.Fatal(err)
			default:
				got = append(got, string(line[:min(len(line), 3)]))
			}
		}
		want := "ok1,TOO LONG,ok2,TOO LONG,www,TOO LONG"
		if strings.Join(got, ",") != want {
			t.Fatalf("max %d: got %v, want %s", max, got, want)
		}
	}
}
