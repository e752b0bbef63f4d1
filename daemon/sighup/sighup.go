// Package sighup catches SIGHUP for `apierr run` while the program is
// still starting. Go's default action for SIGHUP ends the process, and
// the packages' initialization alone takes tens of milliseconds on a busy
// host, so a handler installed in main (or later) leaves a window in which
// a reload sent right after start (systemd's ExecReload=kill -HUP at boot)
// kills the daemon. This package imports only what signal handling needs,
// so that it is initialized before the heavy packages; main imports it.
package sighup

import (
	"os"
	"os/signal"
	"syscall"
)

// C receives SIGHUP when the process was started as `apierr run`; nothing
// otherwise. It holds one pending signal: reloads asked for during start-up
// are queued, not lost, and several become one.
var C = make(chan os.Signal, 1)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "run" {
		signal.Notify(C, syscall.SIGHUP)
	}
}
