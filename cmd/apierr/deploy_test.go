package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The Kubernetes objects of the manifest, as far as it uses them. Decoding
// is strict, so a misspelled field (readOnlyRootFileSystem) fails the test
// instead of being ignored by the test and by the cluster alike.
type k8sObject struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   k8sMeta           `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	Spec       *k8sDaemonSetSpec `yaml:"spec"`
}

type k8sMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type k8sDaemonSetSpec struct {
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	UpdateStrategy struct {
		Type          string `yaml:"type"`
		RollingUpdate struct {
			MaxUnavailable int `yaml:"maxUnavailable"`
		} `yaml:"rollingUpdate"`
	} `yaml:"updateStrategy"`
	Template struct {
		Metadata k8sMeta    `yaml:"metadata"`
		Spec     k8sPodSpec `yaml:"spec"`
	} `yaml:"template"`
}

type k8sPodSpec struct {
	AutomountServiceAccountToken  *bool              `yaml:"automountServiceAccountToken"`
	Tolerations                   []map[string]any   `yaml:"tolerations"`
	SecurityContext               k8sSecurityContext `yaml:"securityContext"`
	InitContainers                []k8sContainer     `yaml:"initContainers"`
	Containers                    []k8sContainer     `yaml:"containers"`
	TerminationGracePeriodSeconds int                `yaml:"terminationGracePeriodSeconds"`
	Volumes                       []k8sVolume        `yaml:"volumes"`
}

type k8sSecurityContext struct {
	RunAsNonRoot             *bool   `yaml:"runAsNonRoot"`
	RunAsUser                *int64  `yaml:"runAsUser"`
	RunAsGroup               *int64  `yaml:"runAsGroup"`
	SupplementalGroups       []int64 `yaml:"supplementalGroups"`
	AllowPrivilegeEscalation *bool   `yaml:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   *bool   `yaml:"readOnlyRootFilesystem"`
	Privileged               *bool   `yaml:"privileged"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
		Add  []string `yaml:"add"`
	} `yaml:"capabilities"`
	SeccompProfile struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext k8sSecurityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

type k8sVolume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	HostPath *struct {
		Path string `yaml:"path"`
		Type string `yaml:"type"`
	} `yaml:"hostPath"`
	EmptyDir *struct {
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
}

// readManifest decodes every document of the manifest.
func readManifest(tb testing.TB) []k8sObject {
	tb.Helper()
	data, err := os.ReadFile("../../etc/kubernetes/apierr-daemonset.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var objs []k8sObject
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			tb.Fatalf("manifest document %d: %v", len(objs)+1, err)
		}
		objs = append(objs, o)
	}
}

func TestDeploy_DaemonSet(t *testing.T) {
	objs := readManifest(t)
	byKind := map[string]k8sObject{}
	configMaps := map[string]k8sObject{}
	for _, o := range objs {
		if o.Kind == "ConfigMap" {
			configMaps[o.Metadata.Name] = o
		} else {
			byKind[o.Kind] = o
		}
	}
	ds, ok := byKind["DaemonSet"]
	if !ok || ds.APIVersion != "apps/v1" || ds.Spec == nil {
		t.Fatalf("no apps/v1 DaemonSet in the manifest")
	}
	pod := ds.Spec.Template.Spec
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod's labels", k, v)
		}
	}

	t.Run("Scrape", func(t *testing.T) {
		a := ds.Spec.Template.Metadata.Annotations
		if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != "9464" {
			t.Errorf("annotations=%v, want prometheus.io scrape true, path /metrics, port 9464", a)
		}
	})

	if len(pod.Containers) != 1 {
		t.Fatalf("containers=%d, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	mounts := map[string]string{} // mount path -> volume
	readOnly := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
		readOnly[m.MountPath] = m.ReadOnly
	}
	volumes := map[string]k8sVolume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}

	t.Run("NonRoot", func(t *testing.T) {
		for name, sc := range map[string]k8sSecurityContext{"pod": pod.SecurityContext, "container": c.SecurityContext} {
			if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
				t.Errorf("%s securityContext: want runAsNonRoot and a non-zero runAsUser", name)
			}
			if sc.SeccompProfile.Type != "RuntimeDefault" {
				t.Errorf("%s seccompProfile=%q, want RuntimeDefault", name, sc.SeccompProfile.Type)
			}
		}
		sc := c.SecurityContext
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Error("readOnlyRootFilesystem is not true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Error("allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Error("privileged")
		}
		if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			t.Errorf("capabilities drop=%v add=%v, want drop ALL, add none", sc.Capabilities.Drop, sc.Capabilities.Add)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Error("the service account token is mounted; apierr needs no API access")
		}
		// The one step that runs as root may only chown, and only the database.
		for _, ic := range pod.InitContainers {
			if len(ic.SecurityContext.Capabilities.Add) > 0 && !slices.Equal(ic.SecurityContext.Capabilities.Add, []string{"CHOWN"}) {
				t.Errorf("init container %s adds %v", ic.Name, ic.SecurityContext.Capabilities.Add)
			}
			if !slices.Equal(ic.SecurityContext.Capabilities.Drop, []string{"ALL"}) {
				t.Errorf("init container %s does not drop ALL", ic.Name)
			}
			for _, m := range ic.VolumeMounts {
				if m.MountPath != "/var/lib/apierr" {
					t.Errorf("init container %s mounts %s", ic.Name, m.MountPath)
				}
			}
		}
	})

	t.Run("Mounts", func(t *testing.T) {
		for _, p := range []string{"/var/log/pods", "/var/log/containers"} {
			v, ok := volumes[mounts[p]]
			if !ok || v.HostPath == nil || v.HostPath.Path != p || !readOnly[p] {
				t.Errorf("%s: want the host's %s mounted read-only", p, p)
			}
		}
		if v := volumes[mounts["/var/lib/apierr"]]; v.HostPath == nil || readOnly["/var/lib/apierr"] {
			t.Error("/var/lib/apierr: want a writable hostPath for the database")
		}
		if v := volumes[mounts["/tmp"]]; v.EmptyDir == nil {
			t.Error("/tmp: want an emptyDir (the root filesystem is read-only)")
		}
		if _, ok := mounts[filepath.Dir(env["APIERR_CONFIG"])]; !ok && mounts[env["APIERR_CONFIG"]] == "" {
			t.Errorf("APIERR_CONFIG=%q is not mounted", env["APIERR_CONFIG"])
		}
	})

	t.Run("Probes", func(t *testing.T) {
		lp := c.LivenessProbe
		if lp == nil || lp.HTTPGet.Path != "/healthz" {
			t.Fatal("no liveness probe on /healthz")
		}
		port := 0
		for _, p := range c.Ports {
			if p.Name == lp.HTTPGet.Port {
				port = p.ContainerPort
			}
		}
		if port != 9464 {
			t.Errorf("liveness probe port %q is not the metrics port 9464", lp.HTTPGet.Port)
		}
	})

	// The config is read as the daemon reads it: strict keys, validated.
	t.Run("Config", func(t *testing.T) {
		cm, ok := configMaps["apierr-config"]
		if !ok || cm.Data["apierr.yaml"] == "" {
			t.Fatal("no apierr-config ConfigMap with apierr.yaml")
		}
		cfg, err := ParseConfig(strings.NewReader(cm.Data["apierr.yaml"]))
		if err != nil {
			t.Fatalf("apierr.yaml: %v", err)
		}
		if len(cfg.Inputs) != 1 || !slices.Equal(cfg.Inputs[0].Paths, []string{"/var/log/pods/*/*/*.log*"}) || cfg.Inputs[0].Format.Fields != nil {
			t.Errorf("inputs=%+v, want /var/log/pods/*/*/*.log* with format auto", cfg.Inputs)
		}
		if !strings.HasPrefix(cfg.DB, "/var/lib/apierr/") {
			t.Errorf("db=%q, want it on the hostPath /var/lib/apierr", cfg.DB)
		}
		if cfg.MetricsListen != ":9464" && cfg.MetricsListen != "0.0.0.0:9464" {
			t.Errorf("metrics_listen=%q, want all addresses, port 9464", cfg.MetricsListen)
		}
		if v, ok := volumes[mounts[cfg.VendorsDir]]; cfg.VendorsDir != "" && (!ok || v.ConfigMap == nil) {
			t.Errorf("vendors_dir %q is not mounted (a missing directory stops the daemon)", cfg.VendorsDir)
		}
		for _, p := range cfg.Inputs[0].Paths {
			if _, ok := mounts[strings.Join(strings.Split(p, "/")[:4], "/")]; !ok {
				t.Errorf("input %s is not under a mount", p)
			}
		}
	})
}

// dockerInstruction is one instruction of a Dockerfile, continuation
// lines joined.
type dockerInstruction struct {
	Cmd  string // upper case: FROM, RUN, ...
	Args string
}

// parseDockerfile reads the instructions of a Dockerfile: comments and
// blank lines dropped, lines ending in a backslash joined with the next.
func parseDockerfile(tb testing.TB, path string) []dockerInstruction {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []dockerInstruction
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, dockerInstruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

func TestDeploy_Dockerfile(t *testing.T) {
	ins := parseDockerfile(t, "../../Dockerfile")
	var froms []string
	var user, entrypoint, build string
	copied := false
	for _, in := range ins {
		switch in.Cmd {
		case "FROM":
			froms = append(froms, in.Args)
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			entrypoint = in.Args
		case "RUN":
			if strings.Contains(in.Args, "go build") {
				build = in.Args
			}
		case "COPY":
			if len(froms) > 1 && strings.HasPrefix(in.Args, "--from=build ") {
				copied = true
			}
		}
	}
	if len(froms) < 2 || !strings.HasSuffix(strings.ToLower(froms[0]), " as build") || !strings.HasPrefix(froms[0], "golang:") {
		t.Fatalf("FROM=%q, want a golang build stage then a run stage", froms)
	}
	if final := froms[len(froms)-1]; !strings.Contains(final, "distroless/static") && final != "scratch" {
		t.Errorf("final base %q, want distroless static or scratch", final)
	}
	if !copied {
		t.Error("the run stage copies nothing from the build stage")
	}
	if uid, _, _ := strings.Cut(user, ":"); user == "" || uid == "root" || uid == "0" {
		t.Errorf("USER=%q, want a non-root user", user)
	}
	if !strings.Contains(entrypoint, "/usr/bin/apierr") {
		t.Errorf("ENTRYPOINT=%q, want /usr/bin/apierr", entrypoint)
	}
	for _, want := range []string{"CGO_ENABLED=1", "./cmd/apierr", "-extldflags -static", "osusergo", "netgo", "sqlite_omit_load_extension"} {
		if !strings.Contains(build, want) {
			t.Errorf("build command lacks %q: %s", want, build)
		}
	}
}

// TestDeploy_StaticBuild runs the Dockerfile's build command here and
// checks that the binary is static (no program interpreter) and runs. It
// compiles SQLite with cgo, minutes on a cold cache, so it runs only when
// APIERR_TEST_STATIC_BUILD=1.
func TestDeploy_StaticBuild(t *testing.T) {
	if os.Getenv("APIERR_TEST_STATIC_BUILD") != "1" {
		t.Skip("set APIERR_TEST_STATIC_BUILD=1 to build the static binary (slow)")
	}
	var build string
	for _, in := range parseDockerfile(t, "../../Dockerfile") {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			build, _, _ = strings.Cut(in.Args, " && ")
		}
	}
	out := filepath.Join(t.TempDir(), "apierr")
	build = strings.ReplaceAll(build, "${VERSION}", "v0.0.0-test")
	build = regexp.MustCompile(`-o \S+`).ReplaceAllString(build, "-o "+out)
	cmd := exec.Command("sh", "-c", build)
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has a program interpreter: it is not static")
		}
	}
	if b, err := exec.Command(out, "version").CombinedOutput(); err != nil || !strings.Contains(string(b), "v0.0.0-test") {
		t.Fatalf("apierr version: %v %s", err, b)
	}
}
