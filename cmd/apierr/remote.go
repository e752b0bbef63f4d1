package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/apierr/apierr/report"
)

// `apierr report --remote URL`: the report of running daemons, each read
// from its /api/report?raw=1 (the rows its database holds for the window),
// merged by report.Build exactly as several --db are. Credentials come
// from a file or an environment variable named on the command line, never
// from argv.

// remoteFlags are --remote and the flags that go with it.
type remoteFlags struct {
	fset  *flag.FlagSet
	urls  stringsFlag
	creds credentialFlags
}

// addRemoteFlags registers --remote, its credentials and --timeout (unless
// another source registered it already) on fset.
func addRemoteFlags(fset *flag.FlagSet) *remoteFlags {
	o := &remoteFlags{fset: fset}
	fset.Var(&o.urls, "remote", "read a running daemon's report at `URL` (http://host:9464); repeat to merge several hosts")
	o.creds.register(fset, "remote", "the --remote daemons")
	if fset.Lookup("timeout") == nil {
		fset.Duration("timeout", 10*time.Second, "a source that does not answer within `DURATION` is reported as missing")
	}
	return o
}

// active says whether --remote was given.
func (o *remoteFlags) active() bool { return len(o.urls) > 0 }

// timeout is --timeout.
func (o *remoteFlags) timeout() time.Duration {
	if g, ok := o.fset.Lookup("timeout").Value.(flag.Getter); ok {
		if d, ok := g.Get().(time.Duration); ok && d > 0 {
			return d
		}
	}
	return 10 * time.Second
}

// read returns every daemon's rows for window (only vendor's, if set) and
// the daemons that did not answer. A daemon that cannot be reached, times
// out or fails is missing; one that answers with something that is not
// apierr's rows, or refuses the credentials, is a mistake of the command
// line: an error. So is a report with no host answering. With no
// --remote it returns nothing.
func (o *remoteFlags) read(ctx context.Context, m *Main, window report.Window, vendor string, dbGiven bool) ([]report.Source, []report.Missing, error) {
	if !o.active() {
		return nil, nil, nil
	}
	if dbGiven {
		return nil, nil, usageErrorf("give --db or --remote, not both")
	}
	client, auth, err := o.client(m.Getenv)
	if err != nil {
		return nil, nil, err
	}
	type answer struct {
		src     report.Source
		missing error // the daemon did not answer
		err     error // it answered wrong
	}
	answers := make([]answer, len(o.urls))
	var wg sync.WaitGroup
	for i, u := range o.urls {
		wg.Go(func() {
			a := &answers[i]
			a.src, a.missing, a.err = o.fetch(ctx, client, auth, u, window, vendor)
		})
	}
	wg.Wait()
	var sources []report.Source
	var missing []report.Missing
	for i, a := range answers {
		switch {
		case a.err != nil:
			return nil, nil, fmt.Errorf("--remote %s: %w", o.urls[i], a.err)
		case a.missing != nil:
			missing = append(missing, report.Missing{Source: o.urls[i], Error: a.missing.Error()})
		default:
			sources = append(sources, a.src)
		}
	}
	if len(sources) == 0 {
		return nil, nil, fmt.Errorf("no --remote daemon answered: %s: %s", missing[0].Source, missing[0].Error)
	}
	return sources, missing, nil
}

// fetch reads one daemon's rows.
func (o *remoteFlags) fetch(ctx context.Context, client *http.Client, auth func(*http.Request), base string, window report.Window, vendor string) (src report.Source, missing, err error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return src, nil, errors.New("want an http:// or https:// URL such as http://host:9464")
	}
	if !strings.HasSuffix(u.Path, "/api/report") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/api/report"
	}
	q := url.Values{"raw": {"1"}, "from": {window.From.Format(time.RFC3339Nano)}, "to": {window.To.Format(time.RFC3339Nano)}}
	if vendor != "" {
		q.Set("vendor", vendor)
	}
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return src, nil, err
	}
	auth(req)
	resp, err := client.Do(req)
	if err != nil {
		return src, unreachable(err, o.timeout()), nil
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, 256<<20)
	switch {
	case resp.StatusCode >= 500:
		return src, fmt.Errorf("answered %s", resp.Status), nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return src, nil, fmt.Errorf("answered %s: check --remote-token-file, --remote-token-env or --remote-user", resp.Status)
	case resp.StatusCode != http.StatusOK:
		line, _ := io.ReadAll(io.LimitReader(body, 200))
		return src, nil, fmt.Errorf("answered %s: %s (is it an apierr daemon's metrics_listen?)", resp.Status, report.Clean(strings.TrimSpace(string(line)), 200))
	}
	got, src, err := report.ReadSourceJSON(body)
	if err != nil {
		if ctx.Err() != nil {
			return src, unreachable(ctx.Err(), o.timeout()), nil
		}
		return src, nil, fmt.Errorf("%v (is it an apierr daemon's metrics_listen?)", firstLine(err))
	}
	if !got.From.Equal(window.From) || !got.To.Equal(window.To) {
		return src, nil, fmt.Errorf("answered for %s – %s, not the window asked for", got.From.Format(time.RFC3339), got.To.Format(time.RFC3339))
	}
	return src, nil, nil
}

// unreachable says in one line why a daemon did not answer.
func unreachable(err error, timeout time.Duration) error {
	var nerr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout()):
		return fmt.Errorf("no answer within %s", timeout)
	case errors.Is(err, context.Canceled):
		return errors.New("canceled")
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var oerr *net.OpError
	if errors.As(err, &oerr) && oerr.Err != nil {
		return fmt.Errorf("%s: %v", oerr.Op, oerr.Err)
	}
	return errors.New(firstLine(err))
}

// firstLine is err's message up to its first newline.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// client builds the HTTP client and the credentials each request carries.
func (o *remoteFlags) client(getenv func(string) string) (*http.Client, func(*http.Request), error) {
	token, user, password, err := o.creds.read(getenv)
	if err != nil {
		return nil, nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // daemons are reached directly, as a scraper reaches them
	if ca := o.creds.ca; ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, nil, fmt.Errorf("--remote-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("--remote-ca %s: no PEM certificate in it", ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	auth := func(r *http.Request) {
		switch {
		case token != "":
			r.Header.Set("Authorization", "Bearer "+token)
		case user != "":
			r.SetBasicAuth(user, password)
		}
	}
	return &http.Client{Transport: tr}, auth, nil
}

// annotate says where the report's numbers come from and which daemons
// are missing from it: in the report (source, missing), on stderr, and in
// a line above a table or markdown report.
func (o *remoteFlags) annotate(stdout, stderr io.Writer, r *report.Report, f report.Format, missing []report.Missing) {
	if !o.active() {
		return
	}
	r.Source = &report.SourceInfo{Kind: "remote", URLs: append([]string(nil), o.urls...)}
	r.Missing = append(r.Missing[:0], missing...)
	for _, m := range missing {
		fmt.Fprintf(stderr, "apierr: --remote %s is missing from the report: %s\n", m.Source, m.Error)
	}
	if len(missing) > 0 && (f == report.Table || f == report.Markdown) {
		names := make([]string, len(missing))
		for i, m := range missing {
			names[i] = m.Source
		}
		fmt.Fprintf(stdout, "Missing from this report (no answer): %s\n\n", strings.Join(names, ", "))
	}
}

// credentialFlags are the credentials of one kind of source (--remote,
// --prometheus): a bearer token or basic auth, each secret from a file or
// an environment variable named on the command line, and a CA file.
type credentialFlags struct {
	name                      string // the source's flag, without dashes
	tokenFile, tokenEnv, user string
	passwordFile, passwordEnv string
	ca                        string
}

// register adds --NAME-token-file, -token-env, -user, -password-file,
// -password-env and -ca to fset; to says whom they are sent to.
func (c *credentialFlags) register(fset *flag.FlagSet, name, to string) {
	c.name = name
	fset.StringVar(&c.tokenFile, name+"-token-file", "", "send the bearer token in `FILE` to "+to)
	fset.StringVar(&c.tokenEnv, name+"-token-env", "", "send the bearer token in the environment variable `VAR` to "+to)
	fset.StringVar(&c.user, name+"-user", "", "basic-auth `USER` for "+to+" (password from --"+name+"-password-file or -env)")
	fset.StringVar(&c.passwordFile, name+"-password-file", "", "basic-auth password for --"+name+" in `FILE`")
	fset.StringVar(&c.passwordEnv, name+"-password-env", "", "basic-auth password for --"+name+" in the environment variable `VAR`")
	fset.StringVar(&c.ca, name+"-ca", "", "trust the CA certificates in `FILE` for https "+to)
}

// read returns the bearer token or the basic-auth user and password.
func (c *credentialFlags) read(getenv func(string) string) (token, user, password string, err error) {
	if token, err = readSecret(getenv, c.tokenFile, c.tokenEnv, "--"+c.name+" bearer token"); err != nil {
		return "", "", "", err
	}
	if password, err = readSecret(getenv, c.passwordFile, c.passwordEnv, "--"+c.name+" password"); err != nil {
		return "", "", "", err
	}
	switch {
	case token != "" && c.user != "":
		return "", "", "", usageErrorf("give a bearer token or basic auth for --%s, not both", c.name)
	case password != "" && c.user == "":
		return "", "", "", usageErrorf("--%s-password-file and -env need --%s-user", c.name, c.name)
	}
	return token, c.user, password, nil
}

// readSecret reads a credential from a file or an environment variable
// named on the command line (never the secret itself in argv).
func readSecret(getenv func(string) string, file, env, what string) (string, error) {
	switch {
	case file != "" && env != "":
		return "", usageErrorf("give the %s in a file or in an environment variable, not both", what)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read the %s: %w", what, err)
		}
		return strings.TrimSpace(string(b)), nil
	case env != "":
		v := getenv(env)
		if v == "" {
			return "", fmt.Errorf("the %s: environment variable %s is empty or not set", what, env)
		}
		return v, nil
	}
	return "", nil
}
