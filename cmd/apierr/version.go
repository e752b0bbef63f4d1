package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X main.Version=v1.2.3".
var Version = ""

// VersionCommand prints the version.
type VersionCommand struct{ m *Main }

// Run prints the version, the Go version and the VCS revision if known.
func (c *VersionCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("version", "version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	v, goVersion, rev := Version, "", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	fmt.Fprintf(c.m.Stdout, "apierr %s", v)
	if rev != "" {
		fmt.Fprintf(c.m.Stdout, " (%s)", rev)
	}
	fmt.Fprintf(c.m.Stdout, " %s\n", goVersion)
	return nil
}
