package ingest

import (
	"path/filepath"
	"strings"
)

// PodLog is the identity of a container that a Kubernetes log path names.
type PodLog struct {
	Namespace string
	Pod       string // the pod's name as it runs now, with its suffixes
	Container string
	// Workload is the pod's name without the suffixes its controller adds
	// (see Workload); it names the Deployment, StatefulSet, DaemonSet or
	// Job the pod belongs to, when the name follows the controllers'
	// conventions.
	Workload string
}

// ParsePodLogPath reads the pod and container from the path of a log file
// that the kubelet keeps, wherever the host's /var/log is mounted:
//
//	.../pods/<namespace>_<pod>_<uid>/<container>/<restart>.log
//	.../pods/<namespace>_<pod>_<uid>/<container>/<restart>.log.<time>[.gz]
//	.../containers/<pod>_<namespace>_<container>-<container id>.log
//
// (the second form is the kubelet's rotation of the first; the third is
// the symlink to the current file). Namespaces and pod names are DNS names,
// which hold no "_", so the separators are unambiguous. Docker's own files
// (/var/lib/docker/containers/<id>/<id>-json.log) name no container: false.
func ParsePodLogPath(path string) (PodLog, bool) {
	path = filepath.ToSlash(path)
	parts := strings.Split(path, "/")
	n := len(parts)
	// .../pods/<ns>_<pod>_<uid>/<container>/<file>
	if n >= 4 && parts[n-4] == "pods" && isRestartLog(parts[n-1]) {
		f := strings.Split(parts[n-3], "_")
		if len(f) == 3 && f[0] != "" && f[1] != "" && f[2] != "" && parts[n-2] != "" {
			return PodLog{Namespace: f[0], Pod: f[1], Container: parts[n-2], Workload: Workload(f[1])}, true
		}
	}
	// .../containers/<pod>_<ns>_<container>-<id>.log
	if n >= 2 && parts[n-2] == "containers" && strings.HasSuffix(parts[n-1], ".log") {
		f := strings.Split(strings.TrimSuffix(parts[n-1], ".log"), "_")
		if len(f) != 3 || f[0] == "" || f[1] == "" {
			return PodLog{}, false
		}
		dash := strings.LastIndexByte(f[2], '-')
		if dash < 1 || !isHex(f[2][dash+1:], 64) {
			return PodLog{}, false
		}
		return PodLog{Namespace: f[1], Pod: f[0], Container: f[2][:dash], Workload: Workload(f[0])}, true
	}
	return PodLog{}, false
}

// ServiceFromPath returns the calling service a Kubernetes log path names,
// "<namespace>/<container>", or "" for a path that names none (Docker's
// /var/lib/docker/containers/<id>/<id>-json.log, any plain file).
//
// The container's name is used, not the pod's: a pod's name changes with
// every rollout and differs between replicas (a Deployment's pods are
// "<name>-<pod-template-hash>-<5 random chars>", a ReplicaSet's or
// DaemonSet's "<name>-<5 chars>", a StatefulSet's "<name>-0", "<name>-1"),
// while the container's name is fixed in the pod template, the same for
// all replicas and restarts, and names the program that makes the calls.
// With the namespace it tells one team's program from another's. So the
// replicas and restarts of one workload count as one service, without
// guessing at the pod's suffixes; Workload does that guessing for those
// who want the pod's owner.
func ServiceFromPath(path string) string {
	p, ok := ParsePodLogPath(path)
	if !ok {
		return ""
	}
	return p.Namespace + "/" + p.Container
}

// Workload returns a pod's name without the suffixes its controller adds:
// "<name>-<hash>-<xxxxx>" (Deployment: the ReplicaSet's pod-template-hash,
// then 5 random chars) and "<name>-<time>-<xxxxx>" (a CronJob's Job) give
// "<name>"; "<name>-<xxxxx>" (ReplicaSet, DaemonSet, Job) gives "<name>";
// "<name>-<ordinal>" (StatefulSet) gives "<name>". The random suffixes are
// drawn from the Kubernetes name alphabet, which has no vowels
// (k8s.io/apimachinery/pkg/util/rand), so a word such as "-store" is not
// taken for one. A name that fits none of these is returned as is.
func Workload(pod string) string {
	name, last, ok := cutLast(pod)
	if !ok {
		return pod
	}
	switch {
	case len(last) == 5 && inAlphabet(last):
		if n, hash, ok := cutLast(name); ok && (len(hash) >= 6 && len(hash) <= 10 && inAlphabet(hash) || isDigits(hash)) {
			return n
		}
		return name
	case isDigits(last):
		return name
	}
	return pod
}

func cutLast(s string) (before, last string, ok bool) {
	i := strings.LastIndexByte(s, '-')
	if i < 1 || i == len(s)-1 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// nameAlphabet is the alphabet of generated name suffixes (no vowels, no
// 0, 1 or 3, so that they spell no words).
const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func inAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(nameAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isRestartLog reports whether name is a kubelet log file: "<n>.log",
// or its rotated copies "<n>.log.<time>" and "<n>.log.<time>.gz".
func isRestartLog(name string) bool {
	num, rest, ok := strings.Cut(name, ".log")
	if !ok || !isDigits(num) {
		return false
	}
	return rest == "" || rest[0] == '.'
}
