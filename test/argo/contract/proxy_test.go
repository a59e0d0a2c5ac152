package contract

// Small loopback servers the tests put between Argo and the judge. Each is a stand-in for a
// network condition or a deliberate break, never for the judge itself: every answer Argo
// evaluates is computed by the running judge.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// startRewritingProxy forwards to the judge and passes each answer body through rewrite:
// the deliberate breaks of CONTRACT_BREAK.
func startRewritingProxy(target *url.URL, rewrite func([]byte) []byte) (string, func()) {
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(res *http.Response) error {
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		body = rewrite(body)
		res.Body = io.NopCloser(bytes.NewReader(body))
		res.ContentLength = int64(len(body))
		res.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(rp)
	return srv.URL, srv.Close
}

// lowercaseVerdict: {"verdict":"Pass","summary":"Pass …","measurement":{"verdict":"Pass",...},...}
// → the same with "pass" everywhere, the summary's leading verdict included, so the break
// reaches what the templates read (the summary) as well as the verdict fields.
func lowercaseVerdict(body []byte) []byte {
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		changed := false
		if v, ok := m["verdict"].(string); ok {
			m["verdict"], changed = strings.ToLower(v), true
		}
		lowerFirst := func(s string) string {
			first, rest, _ := strings.Cut(s, " ")
			return strings.ToLower(first) + " " + rest
		}
		if v, ok := m["summary"].(string); ok {
			m["summary"], changed = lowerFirst(v), true
		}
		if ms, ok := m["measurement"].(map[string]any); ok {
			if v, ok := ms["verdict"].(string); ok {
				ms["verdict"], changed = strings.ToLower(v), true
			}
			if v, ok := ms["summary"].(string); ok {
				ms["summary"] = lowerFirst(v)
			}
		}
		if changed {
			body, _ = json.Marshal(m)
		}
	}
	return body
}

// plainTextVerdict: {"verdict":"Fail",...} → Fail (not JSON). Argo (v1.9 and v1.10) takes a body
// that is not JSON for a Successful measurement without evaluating the conditions.
func plainTextVerdict(body []byte) []byte {
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		if v, ok := m["verdict"].(string); ok {
			return []byte(v)
		}
	}
	return body
}

// startSilentServer accepts TCP connections and reads requests but never answers: from the
// client's side, a judge that hangs. Closed at the end of the test.
func startSilentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// closedPortURL returns the address of a loopback port with nothing listening on it. The port
// stays bound (a socket that never listens) until the test ends, so a server that another
// parallel test starts cannot take it: connecting is refused for the whole test, rather than
// answered or reset by whoever reused a port that was merely closed.
func closedPortURL(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return "http://127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
}

// sequenceProxy forwards each request to the judge after pointing its selector at the next
// scenario of a script, so one AnalysisRun meets a chosen sequence of data (say too little
// data, too little data, healthy). The judge computes every verdict from Prometheus; the proxy
// only chooses which recorded canary the request names. Requests past the end of the script
// reuse its last entry.
type sequenceProxy struct {
	t      *testing.T
	target *url.URL
	script []scenario
	srv    *httptest.Server

	mu        sync.Mutex
	n         int
	verdicts  []string // verdict of each answer, in order
	summaries []string // the judge's one-line summary of each answer, in order
	statuses  []int
}

func startSequenceProxy(t *testing.T, judge string, script []scenario) *sequenceProxy {
	t.Helper()
	u, err := url.Parse(judge)
	if err != nil {
		t.Fatal(err)
	}
	p := &sequenceProxy{t: t, target: u, script: script}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *sequenceProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.mu.Lock()
	i := p.n
	p.n++
	p.mu.Unlock()
	if i >= len(p.script) {
		i = len(p.script) - 1
	}
	body, err = pointSelectorAt(body, p.script[i])
	if err != nil {
		// Surfaces as an Error measurement and fails the test's expectations.
		http.Error(w, "sequence proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	req, err := http.NewRequest(r.Method, p.target.ResolveReference(&url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}).String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	var v struct {
		Verdict string `json:"verdict"`
		Summary string `json:"summary"`
	}
	_ = json.Unmarshal(out, &v)
	p.mu.Lock()
	p.verdicts = append(p.verdicts, v.Verdict)
	p.summaries = append(p.summaries, v.Summary)
	p.statuses = append(p.statuses, res.StatusCode)
	p.mu.Unlock()
	for k, vs := range res.Header {
		for _, x := range vs {
			w.Header().Add(k, x)
		}
	}
	w.WriteHeader(res.StatusCode)
	w.Write(out)
}

func (p *sequenceProxy) seen() ([]string, []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.verdicts...), append([]int(nil), p.statuses...)
}

// summariesSeen lists the judge's top-level summary of each answer, in order.
func (p *sequenceProxy) summariesSeen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.summaries...)
}

// pointSelectorAt points a judge request at scenario s: its namespace and pod-template hashes.
func pointSelectorAt(body []byte, s scenario) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("request body is not JSON: %v", err)
	}
	sel, ok := m["selector"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("request has no selector object")
	}
	if sel["mode"] != "pod-hash" {
		return nil, fmt.Errorf("selector mode %v: the sequence proxy only rewrites pod-hash selectors", sel["mode"])
	}
	sel["canary"], sel["stable"] = s.CanaryHash, s.StableHash
	ro, ok := m["rollout"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("request has no rollout object")
	}
	ro["namespace"] = s.Namespace
	return json.Marshal(m)
}
