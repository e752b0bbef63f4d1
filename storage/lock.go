package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// LockedError is the error of a writer's Open when another process holds
// the database's one-writer lock. It matches ErrLocked.
type LockedError struct {
	Path   string // the database
	PID    int    // the holder's process id, 0 if it did not say
	Holder string // the holder's command line, as it recorded it
}

func (e *LockedError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another process"
	}
	if e.PID == 0 {
		return fmt.Sprintf("database %s is in use by %s (one writer per database)", e.Path, holder)
	}
	return fmt.Sprintf("database %s is in use by %s (pid %d; one writer per database)", e.Path, holder, e.PID)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// LockPath is the file that holds the one-writer lock of the database at
// path. It is never removed: removing a lock file while another process
// waits to open it would let two writers in.
func LockPath(path string) string { return path + ".lock" }

// lock takes the one-writer lock: an exclusive, non-blocking flock on
// LockPath, which then records this process's pid and command line so that
// a second writer can name it. The kernel drops the lock when the process
// dies, however it dies.
func (db *DB) lock() error {
	path := LockPath(db.Path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock %s: %w", path, translateOS(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return readHolder(db.Path, f)
		}
		return fmt.Errorf("lock %s: %w", path, err)
	}
	// Ours now: say who we are. A failure here only costs the second
	// writer the holder's name.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holderLine()), 0)
	}
	db.lockFile = f
	return nil
}

func (db *DB) unlock() {
	if db.lockFile != nil {
		db.lockFile.Close() // closing the descriptor drops the flock
		db.lockFile = nil
	}
}

// holderLine is what the lock file records: "<pid> <command line>\n".
func holderLine() string {
	cmd := strings.Join(os.Args, " ")
	return strconv.Itoa(os.Getpid()) + " " + oneLine(cmd, 200) + "\n"
}

// readHolder reads who holds the lock. The holder may not have written its
// line yet: then the error names no one.
func readHolder(path string, f *os.File) error {
	e := &LockedError{Path: path}
	buf := make([]byte, 512)
	n, _ := f.ReadAt(buf, 0)
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	pid, cmd, _ := strings.Cut(string(line), " ")
	if p, err := strconv.Atoi(pid); err == nil && p > 0 {
		e.PID, e.Holder = p, oneLine(cmd, 200)
	}
	return e
}

// oneLine keeps s to one line of at most max bytes: the error that names a
// holder is one line, whatever the holder's arguments hold.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}
