package storage_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apierr/apierr/storage"
)

func openExclusive(path string) (*storage.DB, error) {
	db := storage.NewDB(path)
	db.Exclusive = true
	return db, db.Open()
}

// TestDB_Exclusive opens one database with two writers in one process:
// flock locks belong to the open file, so the second is refused too.
func TestDB_Exclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apierr.db")
	first, err := openExclusive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()

	second, err := openExclusive(path)
	var le *storage.LockedError
	if !errors.As(err, &le) || !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second writer: err=%v, want a *LockedError matching ErrLocked", err)
	}
	if le.PID != os.Getpid() || le.Path != path || !strings.Contains(le.Holder, os.Args[0]) {
		t.Fatalf("LockedError=%+v, want pid %d and holder %q", le, os.Getpid(), os.Args[0])
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("message %q: want one line naming the pid", msg)
	}

	// Readers never take the lock, even when asked to.
	r := storage.NewDB(path)
	r.ReadOnly, r.Exclusive = true, true
	if err := r.Open(); err != nil {
		t.Fatalf("reader while a writer holds the lock: %v", err)
	}
	r.Close()

	// Closing the first writer lets the next one in.
	first.Close()
	if err := second.Open(); err != nil {
		t.Fatalf("writer after the holder closed: %v", err)
	}
	second.Close()
}

// TestHoldLock is the helper process of TestDB_ExclusiveProcess: it holds
// the lock of the database named by its environment until killed.
func TestHoldLock(t *testing.T) {
	path := os.Getenv("STORAGE_TEST_HOLD_LOCK")
	if path == "" {
		t.Skip("helper process of TestDB_ExclusiveProcess")
	}
	db, err := openExclusive(path)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer db.Close()
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin) // until the parent kills us
}

// TestDB_ExclusiveProcess holds the lock in a real second process: a writer
// here is refused with that process's pid, and the lock dies with it.
func TestDB_ExclusiveProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apierr.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldLock$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STORAGE_TEST_HOLD_LOCK="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		if s != "locked\n" {
			t.Fatalf("helper said %q, want locked", s)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the helper process did not take the lock within 60s")
	}

	_, err = openExclusive(path)
	var le *storage.LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid || !strings.Contains(le.Holder, "-test.run=^TestHoldLock$") {
		t.Fatalf("err=%v (%+v), want a *LockedError naming pid %d", err, le, cmd.Process.Pid)
	}
	t.Logf("second writer: %v", err)

	// kill -9: the kernel drops the lock with the process.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	db, err := openExclusive(path)
	if err != nil {
		t.Fatalf("writer after the holder was killed: %v", err)
	}
	db.Close()
}
