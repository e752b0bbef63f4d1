package storage_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/storage"
)

// readOnlyEnv names the database a re-executed test binary opens
// read-only from inside a read-only bind mount.
const readOnlyEnv = "APIERR_TEST_READONLY_DB"

// TestDB_OpenReadOnlyDir: a database left by a writer that stopped
// cleanly (no -wal, no -shm) in a directory the reader cannot write to
// opens read-only and reads, and the reader creates no file there. As
// root the directory is a real read-only bind mount (unshare -rm); as
// another user a chmod 0555 directory.
func TestDB_OpenReadOnlyDir(t *testing.T) {
	if path := os.Getenv(readOnlyEnv); path != "" {
		readBack(t, path)
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "apierr.db")
	w := storage.NewDB(path)
	w.Now = func() time.Time { return t0 }
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	b := w.NewBatch()
	b.Add(t0, ev("piggy", "1008", classify.RetryNo), "POST /a")
	if err := w.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Fatalf("%s left after a clean close", path+suffix)
		}
	}
	before, _ := os.ReadDir(dir)

	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		readBack(t, path)
	} else {
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Skip("root without unshare: cannot make a read-only directory")
		}
		cmd := exec.Command("unshare", "-rm", "sh", "-c", `mount --bind -o ro "$1" "$1" && exec "$2" -test.run='^TestDB_OpenReadOnlyDir$' -test.v`,
			"sh", dir, os.Args[0])
		cmd.Env = append(os.Environ(), readOnlyEnv+"="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("reader in a read-only bind mount: %v\n%s", err, out)
		}
	}
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Fatalf("the reader changed the directory: %d entries before, %d after", len(before), len(after))
	}
}

// readBack opens path read-only and checks the row the writer committed.
func readBack(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "probe"), nil, 0o600); err == nil {
		t.Fatalf("the directory of %s is writable: the test would prove nothing", path)
	}
	r := storage.NewDB(path)
	r.ReadOnly = true
	if err := r.Open(); err != nil {
		t.Fatalf("Open read-only: %v", err)
	}
	defer r.Close()
	v, err := r.Vendors(context.Background(), all[0], all[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 1 || v[0].Vendor != "piggy" || v[0].Errors != 1 {
		t.Fatalf("Vendors=%+v, want piggy with 1 error", v)
	}
}
