// Command loadgen is an open-loop load generator that plays the Sentinel/Zentinel reverse proxy
// against an agent on a Unix socket: protocol v2, JSON encoding (PROTOCOL.md §1, §3).
//
// It opens -conns connections, handshakes each exactly as proxy v0.6.20 does (§3.1), then plays
// -rate request lifecycles per second: lifecycle i is scheduled at t0 + i/rate; its
// request_headers (0x10) is sent at that time and its response_headers (0x12) -upstream later,
// whatever the agent did with the first one (open loop). Frames go round-robin over the
// connections, encoded as the proxy encodes them (§3.4: compact JSON, keys sorted at every depth,
// top-level correlation_id injected).
//
// The latency of a call is the time its answer (0x20) arrives minus the time the frame was
// SCHEDULED to be sent, so neither a stalled agent nor a late sender can hide (no coordinated
// omission). Sending never blocks on the agent: the scheduler writes what the socket takes at once
// and leaves the rest to a writer goroutine per connection. Answers are matched by
// audit.custom.correlation_id on the connection the event went out on (§3.6) and must carry the
// decision "allow" exactly as serde writes it (§4); anything else counts as a mismatch.
//
// Timing: the sending goroutine owns a locked OS thread that sleeps with nanosleep(2) and a 1 µs
// timer slack (Go's own timers wake about 1 ms late), at SCHED_FIFO priority when permitted (-rt),
// and sends every frame that is due when it wakes, coalesced per connection. How late frames
// leave is reported as send_lag_us; it is part of the measured latency, in every mode alike.
// -watch-pid reads the agent's CPU (per thread) over the measured window, and its memory.
//
// Test tooling only (stdlib only, never shipped). Output: one line on stdout and, with -json-out,
// a JSON report. See docs/benchmarks.md.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// ---------------------------------------------------------------------------------------------
// Configuration

type config struct {
	socket     string
	rate       float64
	duration   time.Duration
	warmup     time.Duration
	conns      int
	timeout    time.Duration
	upstream   time.Duration
	grace      time.Duration
	jsonOut    string
	seed       uint64
	precise    bool
	rt         bool
	selftest   bool
	cpuProfile string
	watchPid   int
}

func parseFlags() config {
	var c config
	flag.StringVar(&c.socket, "socket", "", "agent Unix socket path (required)")
	flag.Float64Var(&c.rate, "rate", 20000, "request lifecycles per second (each = 2 frames)")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "measured duration")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up before the measured window (not reported)")
	flag.IntVar(&c.conns, "conns", 4, "connections (the proxy's connections_per_agent)")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Millisecond, "per-call timeout to count answers against")
	flag.DurationVar(&c.upstream, "upstream", time.Millisecond, "simulated upstream time: request_headers → response_headers")
	flag.DurationVar(&c.grace, "grace", time.Second, "wait for answers after the last send; later ones count as unanswered")
	flag.StringVar(&c.jsonOut, "json-out", "", "write the JSON report to this file")
	flag.Uint64Var(&c.seed, "seed", 1, "seed for the generated traffic (ids always differ per run)")
	flag.BoolVar(&c.precise, "precise", false, "wake early and spin the last µs so frames leave on time (costs CPU)")
	flag.BoolVar(&c.rt, "rt", true, "run the sending thread at SCHED_FIFO priority 1 when permitted (sends on time on a busy machine)")
	flag.BoolVar(&c.selftest, "selftest", false, "check the frame encoder (sorted keys, sizes) and exit")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the load generator here")
	flag.IntVar(&c.watchPid, "watch-pid", 0, "report this process's CPU (per thread) over the measured window and its memory")
	flag.Parse()
	if c.selftest {
		return c
	}
	bad := func(msg string) {
		fmt.Fprintln(os.Stderr, "loadgen: "+msg)
		flag.Usage()
		os.Exit(2)
	}
	switch {
	case c.socket == "":
		bad("-socket is required")
	case !(c.rate > 0) || c.rate > 1e6:
		bad("-rate must be in (0, 1e6]")
	case c.conns < 1 || c.conns > 255:
		bad("-conns must be in [1, 255]")
	case c.duration <= 0 || c.warmup < 0 || c.timeout <= 0 || c.upstream < 0 || c.grace < 0:
		bad("durations must be positive")
	case c.rate*(c.duration+c.warmup).Seconds() > 1<<30:
		bad("-rate × (-duration + -warmup) is too large")
	}
	return c
}

// ---------------------------------------------------------------------------------------------
// Correlation ids: 11 base58 characters (like the proxy's TinyFlake ids), an invertible mix of
// (run nonce, lifecycle index) so a reader maps an answer back to its lifecycle without a table.

const b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
const cidLen = 11
const mixK uint64 = 0x9E3779B97F4A7C15 // odd, so invertible mod 2^64

var b58Index [256]int8
var mixKInv uint64

func init() {
	for i := range b58Index {
		b58Index[i] = -1
	}
	for i := 0; i < len(b58); i++ {
		b58Index[b58[i]] = int8(i)
	}
	inv := mixK // Newton: each step doubles the correct low bits
	for range 6 {
		inv *= 2 - mixK*inv
	}
	mixKInv = inv
}

// x ^= x>>33 is its own inverse because the shift is at least half the width.
func mix(x uint64) uint64   { x ^= x >> 33; x *= mixK; x ^= x >> 33; return x }
func unmix(x uint64) uint64 { x ^= x >> 33; x *= mixKInv; x ^= x >> 33; return x }

func appendCid(b []byte, nonce uint32, i int) []byte {
	v := mix(uint64(nonce)<<32 | uint64(uint32(i)))
	var d [cidLen]byte
	for k := cidLen - 1; k >= 0; k-- {
		d[k] = b58[v%58]
		v /= 58
	}
	return append(b, d[:]...)
}

func decodeCid(s []byte, nonce uint32) (int, bool) {
	if len(s) != cidLen {
		return 0, false
	}
	var v uint64
	for _, ch := range s {
		d := b58Index[ch]
		if d < 0 {
			return 0, false
		}
		hi, lo := mulAdd(v, 58, uint64(d))
		if hi != 0 {
			return 0, false
		}
		v = lo
	}
	v = unmix(v)
	if uint32(v>>32) != nonce {
		return 0, false
	}
	return int(uint32(v)), true
}

func mulAdd(v, m, a uint64) (uint64, uint64) {
	// 128-bit v*m + a, enough to reject 11-digit strings above 2^64.
	hi := (v >> 32) * m
	lo := (v&0xffffffff)*m + a
	hi += lo >> 32
	return hi >> 32, hi<<32 | lo&0xffffffff
}

// ---------------------------------------------------------------------------------------------
// Traffic: what the proxy would send for lifecycle i. All per-lifecycle choices come from a hash
// of (seed, i), so nothing per lifecycle is stored.

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// jsonStr encodes s as serde_json does: quotes, backslash and control characters escaped, the
// rest (DEL and non-ASCII included) raw.
func jsonStr(s string) []byte {
	b := []byte{'"'}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' || ch == '\\':
			b = append(b, '\\', ch)
		case ch == '\n':
			b = append(b, '\\', 'n')
		case ch == '\r':
			b = append(b, '\\', 'r')
		case ch == '\t':
			b = append(b, '\\', 't')
		case ch == '\b':
			b = append(b, '\\', 'b')
		case ch == '\f':
			b = append(b, '\\', 'f')
		case ch < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, ch)...)
		default:
			b = append(b, ch)
		}
	}
	return append(b, '"')
}

func pool(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = jsonStr(s)
	}
	return out
}

var (
	userAgents = pool(
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.6943.49 Mobile Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:135.0) Gecko/20100101 Firefox/135.0",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"curl/8.12.1",
		"python-requests/2.32.3",
	)
	accepts = pool(
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"application/json, text/plain, */*",
		"*/*",
		"image/avif,image/webp,*/*",
	)
	languages = pool("en-US,en;q=0.9", "de-CH,de;q=0.9,en;q=0.8", "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7",
		"es-ES,es;q=0.9", "ja,en-US;q=0.9,en;q=0.8")
	hosts = pool("shop.example.com", "api.example.com", "www.example.org")
	uris  = pool("/", "/api/v1/users/42?expand=true", "/api/v1/orders?page=2&limit=50",
		"/products/ultra-light-jacket-7731?color=blue&size=m", "/search?q=caf%C3%A9+paris&sort=relevance",
		"/static/app.3f9c2b1e.js", "/images/hero-1920.webp", "/login", "/api/v1/cart/items",
		"/blog/2026/02/observability-at-the-edge", "/health", "/api/v2/recommendations?user=8812&n=12")
	referers       = pool("https://www.google.com/", "https://shop.example.com/", "https://news.ycombinator.com/")
	routes         = pool("web", "api", "static")
	upstream       = pool("backend-1", "backend-2", "cdn-origin")
	ctypes         = pool("text/html; charset=utf-8", "application/json", "application/javascript", "image/webp")
	acceptEncoding = jsonStr("gzip, deflate, br")
	ips            [][]byte // "a.b.c.d" or "2001:db8::x", JSON-free (visible ASCII only)
)

func initIPs(seed uint64) {
	ips = make([][]byte, 4096)
	for k := range ips {
		h := splitmix(seed ^ uint64(k)*0xA24BAED4963EE407)
		if k%20 == 7 {
			ips[k] = fmt.Appendf(nil, "2001:db8:%x::%x", h&0xffff, (h>>16)&0xffff)
			continue
		}
		a := byte(h)%223 + 1
		if a == 10 || a == 127 || a == 172 || a == 192 {
			a++
		}
		ips[k] = fmt.Appendf(nil, "%d.%d.%d.%d", a, byte(h>>8), byte(h>>16), byte(h>>24)%254+1)
	}
}

const hexd = "0123456789abcdef"

func appendHex(b []byte, v uint64, n int) []byte {
	for k := n - 1; k >= 0; k-- {
		b = append(b, hexd[(v>>(uint(k)*4))&15])
	}
	return b
}

type gen struct {
	seed  uint64
	nonce uint32
	ts    []byte // `"2026-…+00:00"` for the current tick (proxy clock)
	date  []byte // `"Sat, 28 Nov 2026 08:31:00 GMT"` for the current tick
	lastS int64
}

func (g *gen) setClock(wall time.Time) {
	wall = wall.UTC()
	g.ts = append(g.ts[:0], '"')
	g.ts = wall.AppendFormat(g.ts, "2006-01-02T15:04:05.000000000-07:00")
	g.ts = append(g.ts, '"')
	if s := wall.Unix(); s != g.lastS || g.date == nil {
		g.lastS = s
		g.date = append(g.date[:0], '"')
		g.date = wall.AppendFormat(g.date, http.TimeFormat)
		g.date = append(g.date, '"')
	}
}

func beginFrame(b []byte, typ byte) ([]byte, int) {
	return append(b, 0, 0, 0, 0, typ), len(b)
}

func endFrame(b []byte, at int) []byte {
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

func hdr(b []byte, name string, val []byte) []byte {
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, `":[`...)
	b = append(b, val...)
	return append(b, "],"...)
}

// appendRequestHeaders appends a 0x10 frame for lifecycle i. Keys are written in sorted order
// at every depth (checked by -selftest).
func (g *gen) appendRequestHeaders(b []byte, i int) []byte {
	h1 := splitmix(g.seed ^ uint64(i))
	h2 := splitmix(h1)
	h3 := splitmix(h2)
	k := int(h1>>52) % len(ips) // skewed towards the first addresses: a few clients send most
	ip := ips[k*k/len(ips)]
	post := h1%10 == 0

	b, at := beginFrame(b, 0x10)
	b = append(b, `{"correlation_id":"`...)
	b = appendCid(b, g.nonce, i)
	b = append(b, `","headers":{`...)
	b = hdr(b, "accept", accepts[int(h2%97)%len(accepts)])
	b = hdr(b, "accept-encoding", acceptEncoding)
	b = hdr(b, "accept-language", languages[int(h2>>8%89)%len(languages)])
	if post {
		b = append(b, `"content-length":["`...)
		b = strconv.AppendUint(b, 64+h3%2000, 10)
		b = append(b, `"],"content-type":["application/json"],`...)
	}
	if h2>>16%10 < 2 {
		b = append(b, `"cookie":["session=`...)
		b = appendHex(b, h3, 16)
		b = append(b, `; theme=dark"],`...)
	}
	b = hdr(b, "host", hosts[int(h2>>20%83)%len(hosts)])
	if h2>>28%10 < 3 {
		b = hdr(b, "referer", referers[int(h2>>32%79)%len(referers)])
	}
	trace := h2>>36%10 == 0
	if trace {
		b = append(b, `"traceparent":["00-`...)
		b = appendHex(b, h3, 16)
		b = appendHex(b, h1, 16)
		b = append(b, '-')
		b = appendHex(b, h2, 16)
		b = append(b, `-01"],`...)
	}
	b = hdr(b, "user-agent", userAgents[int(h2>>40%101)%len(userAgents)])
	b = append(b, `"x-forwarded-for":["`...)
	b = append(b, ip...)
	b = append(b, `"],"x-forwarded-proto":["https"]},"metadata":{"client_ip":"`...)
	if ip[0] == '2' && bytes.IndexByte(ip, ':') > 0 {
		b = append(b, '[')
		b = append(b, ip...)
		b = append(b, ']')
	} else {
		b = append(b, ip...)
	}
	b = append(b, ':')
	b = strconv.AppendUint(b, 1024+h3>>20%64000, 10)
	b = append(b, `","client_port":0,"correlation_id":"`...)
	b = appendCid(b, g.nonce, i)
	b = append(b, `","protocol":"HTTP/1.1","request_id":"`...)
	r1, r2 := splitmix(h3^0x5555), splitmix(h3^0xAAAA)
	b = appendHex(b, r1>>32, 8)
	b = append(b, '-')
	b = appendHex(b, r1>>16, 4)
	b = append(b, '-', '4')
	b = appendHex(b, r1, 3)
	b = append(b, '-', hexd[8+r2>>62])
	b = appendHex(b, r2>>48, 3)
	b = append(b, '-')
	b = appendHex(b, r2, 12)
	route := int(h1>>8%71) % len(routes)
	b = append(b, `","route_id":`...)
	b = append(b, routes[route]...)
	b = append(b, `,"server_name":null,"timestamp":`...)
	b = append(b, g.ts...)
	b = append(b, `,"tls_cipher":null,"tls_version":null,`...)
	if trace {
		b = append(b, `"traceparent":"00-`...)
		b = appendHex(b, h3, 16)
		b = appendHex(b, h1, 16)
		b = append(b, '-')
		b = appendHex(b, h2, 16)
		b = append(b, `-01",`...)
	}
	b = append(b, `"upstream_id":`...)
	b = append(b, upstream[route]...)
	if post {
		b = append(b, `},"method":"POST","uri":`...)
	} else {
		b = append(b, `},"method":"GET","uri":`...)
	}
	b = append(b, uris[int(h1>>16%97)%len(uris)]...)
	b = append(b, '}')
	return endFrame(b, at)
}

func statusOf(h uint64) int {
	switch p := h % 1000; {
	case p < 20:
		return 500
	case p < 90:
		return 404
	case p < 110:
		return 304
	default:
		return 200
	}
}

// appendResponseHeaders appends a 0x12 frame for lifecycle i.
func (g *gen) appendResponseHeaders(b []byte, i int) []byte {
	h1 := splitmix(g.seed ^ uint64(i))
	h4 := splitmix(h1 ^ 0x1234)
	status := statusOf(h4)
	b, at := beginFrame(b, 0x12)
	b = append(b, `{"correlation_id":"`...)
	b = appendCid(b, g.nonce, i)
	b = append(b, `","headers":{"cache-control":["no-store"],"content-length":["`...)
	b = strconv.AppendUint(b, 120+h4>>10%40000, 10)
	b = append(b, `"],"content-type":[`...)
	b = append(b, ctypes[int(h4>>30%61)%len(ctypes)]...)
	b = append(b, `],"date":[`...)
	b = append(b, g.date...)
	b = append(b, `],"server":["nginx"]`...)
	if status == 200 && h4>>40%10 == 0 {
		b = append(b, `,"set-cookie":["sid=`...)
		b = appendHex(b, h4, 16)
		b = append(b, `; Path=/; HttpOnly; Secure","lang=en; Path=/"]`...)
	}
	b = append(b, `},"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, '}')
	return endFrame(b, at)
}

// ---------------------------------------------------------------------------------------------
// Connections

const handshakeJSON = `{"supported_versions":[2],"proxy_id":"zentinel-proxy","proxy_version":"0.6.20","config":null,"supported_encodings":["json"]}`
const maxFrame = 16 << 20

type conn struct {
	idx int
	uc  *net.UnixConn
	raw syscall.RawConn

	mu    sync.Mutex
	out   []byte // bytes waiting for the writer goroutine
	spare []byte
	busy  bool
	sig   chan struct{}
	dead  atomic.Bool
	// closing is set at teardown: errors after it are ours, not the agent's.
	closing atomic.Bool
	err     atomic.Value // first error, string

	direct  atomic.Uint64 // flushes written whole by the scheduler
	queued  atomic.Uint64 // flushes (partly) left to the writer
	maxOut  atomic.Uint64 // largest backlog seen, bytes
	written atomic.Uint64
}

func (c *conn) fail(err error) {
	if c.closing.Load() {
		return // errors caused by our own teardown
	}
	if c.dead.CompareAndSwap(false, true) {
		c.err.Store(err.Error())
	}
}

// send never blocks on the agent: it writes what the socket takes now (only when nothing is
// queued, to keep order) and queues the rest for the writer goroutine.
func (c *conn) send(b []byte) {
	if c.dead.Load() {
		return
	}
	c.mu.Lock()
	if !c.busy && len(c.out) == 0 {
		n := 0
		var werr error
		rerr := c.raw.Write(func(fd uintptr) bool {
			for n < len(b) {
				// Raw: a non-blocking write is short, and a plain syscall may lose this thread's
				// P to sysmon and then wait for one on the way out.
				m, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd,
					uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
				if e == syscall.EINTR {
					continue
				}
				if e != 0 {
					if e != syscall.EAGAIN {
						werr = e
					}
					break
				}
				n += int(m)
			}
			return true // one attempt: never wait for writability here
		})
		if werr == nil {
			werr = rerr
		}
		if werr != nil {
			c.mu.Unlock()
			c.fail(werr)
			return
		}
		c.written.Add(uint64(n))
		if n == len(b) {
			c.mu.Unlock()
			c.direct.Add(1)
			return
		}
		b = b[n:]
	}
	c.queued.Add(1)
	c.out = append(c.out, b...)
	if l := uint64(len(c.out)); l > c.maxOut.Load() {
		c.maxOut.Store(l)
	}
	if !c.busy {
		c.busy = true
		c.sig <- struct{}{}
	}
	c.mu.Unlock()
}

func (c *conn) writer() {
	for range c.sig {
		for {
			c.mu.Lock()
			if len(c.out) == 0 {
				c.busy = false
				c.mu.Unlock()
				break
			}
			buf := c.out
			c.out, c.spare = c.spare[:0], nil
			c.mu.Unlock()
			n, err := c.uc.Write(buf)
			c.written.Add(uint64(n))
			if err != nil {
				c.fail(err)
			}
			c.mu.Lock()
			c.spare = buf[:0]
			c.mu.Unlock()
		}
	}
}

type handshakeInfo struct {
	AgentID  string `json:"agent_id"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Encoding string `json:"encoding"`
}

func dialAndHandshake(path string, idx int) (*conn, handshakeInfo, error) {
	var info handshakeInfo
	uc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, info, err
	}
	fail := func(format string, a ...any) (*conn, handshakeInfo, error) {
		uc.Close()
		return nil, info, fmt.Errorf("connection %d: "+format, append([]any{idx}, a...)...)
	}
	frame := endFrame(append([]byte{0, 0, 0, 0, 0x01}, handshakeJSON...), 0)
	_ = uc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := uc.Write(frame); err != nil {
		return fail("handshake write: %v", err)
	}
	var head [5]byte
	if _, err := io.ReadFull(uc, head[:]); err != nil {
		return fail("handshake read: %v", err)
	}
	n := binary.BigEndian.Uint32(head[:4])
	if n == 0 || n > maxFrame {
		return fail("handshake answer has length %d", n)
	}
	if head[4] != 0x02 {
		return fail("first frame has type 0x%02x, want 0x02", head[4])
	}
	payload := make([]byte, n-1)
	if _, err := io.ReadFull(uc, payload); err != nil {
		return fail("handshake read: %v", err)
	}
	var hs struct {
		ProtocolVersion json.RawMessage  `json:"protocol_version"`
		Success         *bool            `json:"success"`
		Error           *string          `json:"error"`
		Encoding        *json.RawMessage `json:"encoding"`
		Capabilities    *struct {
			AgentID string `json:"agent_id"`
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"capabilities"`
	}
	if err := json.Unmarshal(payload, &hs); err != nil {
		return fail("handshake answer is not valid JSON: %v: %s", err, payload)
	}
	switch {
	case string(hs.ProtocolVersion) != "2":
		return fail("handshake protocol_version is %s, want 2", hs.ProtocolVersion)
	case hs.Success == nil || !*hs.Success:
		return fail("handshake success is not true (error %v): %s", hs.Error, payload)
	case hs.Capabilities == nil:
		return fail("handshake answer has no capabilities: %s", payload)
	case hs.Encoding != nil && string(*hs.Encoding) != `"json"`:
		return fail("handshake encoding is %s; the proxy offered only json", *hs.Encoding)
	}
	info = handshakeInfo{hs.Capabilities.AgentID, hs.Capabilities.Name, hs.Capabilities.Version, "json"}
	_ = uc.SetDeadline(time.Time{})
	raw, err := uc.SyscallConn()
	if err != nil {
		return fail("%v", err)
	}
	c := &conn{idx: idx, uc: uc, raw: raw, sig: make(chan struct{}, 1)}
	return c, info, nil
}

// ---------------------------------------------------------------------------------------------
// The run: schedule, send, read, match.

type readStats struct {
	acks        uint64 // 0x20 frames
	matched     uint64
	badForm     uint64 // not the §4 form with "allow" (or unparsable)
	unknownCid  uint64 // id not one we sent in this run
	duplicate   uint64 // second answer for an answered event
	wrongConn   uint64 // answer on another connection than its event
	otherFrames uint64 // 0x30–0x33, 0x42: allowed, ignored
	badType     uint64 // any other type byte: the proxy would stop reading this connection
}

type run struct {
	cfg       config
	conns     []*conn
	epoch     time.Time
	n         int // lifecycles scheduled (warm-up included)
	nWarm     int // first measured lifecycle
	stepNs    float64
	upNs      int64
	connOf    []atomic.Uint32 // per event (2i = request_headers, 2i+1 = response_headers): conn+1, 0 = unsent
	lat       []uint32        // per event: latency µs + 1, 0 = unanswered; written by that conn's reader only
	lag       []uint32        // per event: µs between scheduled time and the end of its flush
	answered  atomic.Int64
	sent      atomic.Int64 // events handed to a connection
	closing   atomic.Bool
	rstats    []readStats
	rtThreads atomic.Int32

	firstMeasuredNs, lastMeasuredNs int64
	endSendNs                       int64
	bytesRH, bytesRS, framesRH      uint64
}

func (r *run) now() int64 { return int64(time.Since(r.epoch)) }

func (r *run) sched(e int) int64 {
	t := int64(float64(e>>1) * r.stepNs)
	if e&1 == 1 {
		t += r.upNs
	}
	return t
}

var (
	ackPrefix = []byte(`{"version":2,"decision":"allow","audit":{"custom":{"correlation_id":"`)
	ackSuffix = []byte(`"}}}`)
)

// answerCid returns the routing id of a 0x20 payload if the answer is one the proxy accepts as
// an allow in the exact §4 form ("allow"); ok=false counts as a mismatch.
func answerCid(p []byte) ([]byte, bool) {
	if len(p) == len(ackPrefix)+cidLen+len(ackSuffix) && bytes.HasPrefix(p, ackPrefix) &&
		bytes.HasSuffix(p, ackSuffix) {
		return p[len(ackPrefix) : len(ackPrefix)+cidLen], true
	}
	// Any other layout: parse it as serde would (field order free, unknown fields ignored,
	// trailing garbage and BOM rejected).
	var top map[string]json.RawMessage
	if json.Unmarshal(p, &top) != nil {
		return nil, false
	}
	if v, ok := top["version"]; ok {
		if _, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 32); err != nil {
			return nil, false
		}
	}
	if d, ok := top["decision"]; !ok || string(bytes.TrimSpace(d)) != `"allow"` {
		return nil, false
	}
	var audit struct {
		Custom map[string]json.RawMessage `json:"custom"`
	}
	if a, ok := top["audit"]; !ok || json.Unmarshal(a, &audit) != nil {
		return nil, false
	}
	var cid string
	if json.Unmarshal(audit.Custom["correlation_id"], &cid) != nil {
		return nil, false
	}
	return []byte(cid), true
}

// setRealtime puts the calling thread in SCHED_FIFO at the lowest priority, so it runs as soon as
// it wakes instead of queueing behind the agent (the proxy's own timing is not what is measured).
// It mostly sleeps, so it takes little from the agent. The thread must stay locked and die with
// its goroutine (never unlocked), or the priority would leak to other goroutines.
func setRealtime() bool {
	const schedFIFO = 1
	param := struct{ prio int32 }{1}
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, schedFIFO, uintptr(unsafe.Pointer(&param)))
	return e == 0
}

func (r *run) reader(c *conn, st *readStats, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 256<<10)
	start, end := 0, 0
	ci := uint32(c.idx + 1)
	for {
		if end == len(buf) {
			if start > 0 {
				end = copy(buf, buf[start:end])
				start = 0
			} else {
				buf = append(buf, make([]byte, len(buf))...)
			}
		}
		n, err := c.uc.Read(buf[end:])
		now := r.now()
		end += n
		for end-start >= 5 {
			fl := int(binary.BigEndian.Uint32(buf[start:]))
			if fl == 0 || fl > maxFrame {
				c.fail(fmt.Errorf("agent sent a frame of length %d", fl))
				return
			}
			if end-start < 4+fl {
				break // the buffer compacts or doubles until the frame fits
			}
			typ, p := buf[start+4], buf[start+5:start+4+fl]
			start += 4 + fl
			switch {
			case typ == 0x20:
				st.acks++
				r.match(ci, p, now, st)
			case typ == 0x42 || (typ >= 0x30 && typ <= 0x33):
				st.otherFrames++
			default:
				st.badType++
			}
		}
		if start == end {
			start, end = 0, 0
		} else if start > len(buf)/2 {
			end = copy(buf, buf[start:end])
			start = 0
		}
		if err != nil {
			if !r.closing.Load() {
				c.fail(fmt.Errorf("agent closed the connection or read failed: %w", err))
			}
			return
		}
	}
}

func (r *run) match(ci uint32, p []byte, now int64, st *readStats) {
	cid, ok := answerCid(p)
	if !ok {
		st.badForm++
		return
	}
	i, ok := decodeCid(cid, runNonce)
	if !ok || i >= r.n {
		st.unknownCid++
		return
	}
	e := 2 * i
	switch {
	case r.connOf[e].Load() == ci && r.lat[e] == 0:
	case r.connOf[e+1].Load() == ci && r.lat[e+1] == 0:
		e++
	case r.connOf[e].Load() == ci || r.connOf[e+1].Load() == ci:
		st.duplicate++
		return
	default:
		st.wrongConn++
		return
	}
	l := max(now-r.sched(e), 0)
	r.lat[e] = uint32(min(l/1000, math.MaxUint32-1)) + 1
	st.matched++
	r.answered.Add(1)
}

// runNonce makes this run's correlation ids differ from any earlier run's.
var runNonce uint32

// ---------------------------------------------------------------------------------------------
// Scheduler: one locked OS thread, sleeping with a 1 µs timer slack.

func nanosleep(ns int64) {
	ts := syscall.NsecToTimespec(ns)
	// Raw: keep this goroutine's P (GOMAXPROCS is raised by one for it) so waking up never
	// waits for a P.
	syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}

func btoi(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

func (r *run) schedule() {
	runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
	if r.cfg.rt {
		r.rtThreads.Add(btoi(setRealtime()))
	}
	const prSetTimerslack = 29
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1000, 0)

	g := &gen{seed: r.cfg.seed, nonce: runNonce}
	conns := len(r.conns)
	bufs := make([][]byte, conns)
	for k := range bufs {
		bufs[k] = make([]byte, 0, 64<<10)
	}
	batch := make([]int, 0, 1024)
	est := int64(20_000) // expected oversleep, ns, learned as we go
	rr := 0
	nextRH, nextRS := 0, 0
	r.firstMeasuredNs = -1
	const inf = math.MaxInt64
	for nextRS < r.n {
		now := r.now()
		g.setClock(time.Now())
		for {
			dueRH, dueRS := int64(inf), int64(inf)
			if nextRH < r.n {
				dueRH = r.sched(2 * nextRH)
			}
			if nextRS < nextRH {
				dueRS = r.sched(2*nextRS + 1)
			}
			if min(dueRH, dueRS) > now {
				break
			}
			c := rr % conns
			rr++
			if dueRS <= dueRH {
				e := 2*nextRS + 1
				r.connOf[e].Store(uint32(c + 1))
				l0 := len(bufs[c])
				bufs[c] = g.appendResponseHeaders(bufs[c], nextRS)
				r.bytesRS += uint64(len(bufs[c]) - l0)
				batch = append(batch, e)
				nextRS++
			} else {
				e := 2 * nextRH
				r.connOf[e].Store(uint32(c + 1))
				l0 := len(bufs[c])
				bufs[c] = g.appendRequestHeaders(bufs[c], nextRH)
				r.bytesRH += uint64(len(bufs[c]) - l0)
				r.framesRH++
				batch = append(batch, e)
				if nextRH >= r.nWarm {
					if r.firstMeasuredNs < 0 {
						r.firstMeasuredNs = now
					}
					r.lastMeasuredNs = now
				}
				nextRH++
			}
		}
		for k := range bufs {
			if len(bufs[k]) > 0 {
				r.conns[k].send(bufs[k])
				bufs[k] = bufs[k][:0]
			}
		}
		done := r.now()
		for _, e := range batch {
			r.lag[e] = uint32(min((done-r.sched(e))/1000, math.MaxUint32))
		}
		r.sent.Add(int64(len(batch)))
		batch = batch[:0]

		// Wait for the next due frame.
		next := int64(inf)
		if nextRH < r.n {
			next = r.sched(2 * nextRH)
		}
		if nextRS < nextRH {
			next = min(next, r.sched(2*nextRS+1))
		}
		if next == inf {
			break
		}
		for {
			t := r.now()
			rem := next - t
			if rem <= 0 {
				break
			}
			if !r.cfg.precise {
				nanosleep(rem)
				break
			}
			if rem <= est+2_000 {
				continue // spin the last few µs
			}
			want := min(rem-est, int64(2*time.Millisecond))
			nanosleep(want)
			over := r.now() - t - want
			est += (min(max(over, 0), 200_000) - est) / 8
		}
	}
	r.endSendNs = r.now()
}

// ---------------------------------------------------------------------------------------------
// Watching the agent process: CPU over exactly the measured window, per thread, and memory.

const clkTck = 100 // USER_HZ

type threadCPU struct {
	Tid    int     `json:"tid"`
	Name   string  `json:"name"`
	CPUPct float64 `json:"cpu_pct"`
	// WaitPct: time runnable but not running (waiting for a CPU), % of the window.
	WaitPct float64 `json:"wait_pct"`
}

type watched struct {
	Pid      int         `json:"pid"`
	CPUS     float64     `json:"cpu_s"`
	CPUPct   float64     `json:"cpu_pct"` // of one core, over the measured window
	Threads  []threadCPU `json:"threads"` // threads above 0.5 %
	VmHWMMiB float64     `json:"vm_hwm_mib"`
	VmRSSMiB float64     `json:"vm_rss_mib"`
	Error    string      `json:"error,omitempty"`
}

type procSample struct {
	at      time.Time
	cpu     float64         // whole process, from /proc/PID/stat (exited threads included)
	threads map[int]float64 // per thread, from schedstat (ns precision)
	waits   map[int]float64 // per thread, run-queue wait from schedstat
	names   map[int]string
}

func sampleProc(pid int) (procSample, error) {
	s := procSample{at: time.Now(), threads: map[int]float64{}, waits: map[int]float64{},
		names: map[int]string{}}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	f := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+2:])
	if len(f) < 13 {
		return s, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseFloat(string(f[11]), 64)
	st, _ := strconv.ParseFloat(string(f[12]), 64)
	s.cpu = (ut + st) / clkTck
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ss, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", pid, tid)); err == nil {
			if fs := bytes.Fields(ss); len(fs) > 1 {
				ns, _ := strconv.ParseFloat(string(fs[0]), 64)
				wait, _ := strconv.ParseFloat(string(fs[1]), 64)
				s.threads[tid], s.waits[tid] = ns/1e9, wait/1e9
			}
		}
		if c, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/comm", pid, tid)); err == nil {
			s.names[tid] = string(bytes.TrimSpace(c))
		}
	}
	return s, nil
}

func procMiB(pid int, key string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(key+":")); ok {
			kb, _ := strconv.ParseFloat(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 64)
			return math.Round(kb/1024*10) / 10
		}
	}
	return 0
}

// watch samples the process at the start and the end of the measured window (on its own
// goroutine, so the scheduler never waits for /proc).
func (r *run) watch(pid int, out *watched, done chan<- struct{}) {
	defer close(done)
	out.Pid = pid
	time.Sleep(time.Until(r.epoch.Add(r.cfg.warmup)))
	a, err := sampleProc(pid)
	if err != nil {
		out.Error = err.Error()
		return
	}
	time.Sleep(time.Until(r.epoch.Add(r.cfg.warmup + r.cfg.duration)))
	b, err := sampleProc(pid)
	if err != nil {
		out.Error = err.Error()
		return
	}
	wall := b.at.Sub(a.at).Seconds()
	out.CPUS = math.Round((b.cpu-a.cpu)*1000) / 1000
	out.CPUPct = math.Round((b.cpu-a.cpu)/wall*1000) / 10
	out.Threads = []threadCPU{}
	for tid, t := range b.threads {
		pct := math.Round((t-a.threads[tid])/wall*1000) / 10
		if pct >= 0.5 {
			name := b.names[tid]
			if tid == pid {
				name += " (main)"
			}
			wait := math.Round((b.waits[tid]-a.waits[tid])/wall*1000) / 10
			out.Threads = append(out.Threads, threadCPU{tid, name, pct, wait})
		}
	}
	slices.SortFunc(out.Threads, func(x, y threadCPU) int { return int(y.CPUPct*10 - x.CPUPct*10) })
}

// ---------------------------------------------------------------------------------------------
// Report

type pcts struct {
	Count int64   `json:"count"`
	P50   uint32  `json:"p50"`
	P90   uint32  `json:"p90"`
	P99   uint32  `json:"p99"`
	P999  uint32  `json:"p99_9"`
	Max   uint32  `json:"max"`
	Mean  float64 `json:"mean"`
}

func percentiles(v []uint32) pcts {
	if len(v) == 0 {
		return pcts{}
	}
	slices.Sort(v)
	at := func(q float64) uint32 { // nearest rank
		k := int(math.Ceil(q*float64(len(v)))) - 1
		return v[min(max(k, 0), len(v)-1)]
	}
	var sum float64
	for _, x := range v {
		sum += float64(x)
	}
	return pcts{int64(len(v)), at(0.50), at(0.90), at(0.99), at(0.999), v[len(v)-1], math.Round(sum/float64(len(v))*10) / 10}
}

type report struct {
	Socket          string        `json:"socket"`
	Rate            float64       `json:"rate"`
	DurationS       float64       `json:"duration_s"`
	WarmupS         float64       `json:"warmup_s"`
	Conns           int           `json:"conns"`
	TimeoutUs       int64         `json:"timeout_us"`
	UpstreamUs      int64         `json:"upstream_us"`
	Precise         bool          `json:"precise"`
	RealtimeThreads int32         `json:"realtime_threads"`
	Agent           handshakeInfo `json:"agent"`
	LifecyclesTotal int           `json:"lifecycles_total"` // warm-up included: what the agent saw
	EventsTotal     int64         `json:"events_total"`
	AnsweredTotal   int64         `json:"answered_total"`
	Sent            int           `json:"sent"` // measured lifecycles
	EventsSent      int           `json:"events_sent"`
	Answered        int           `json:"answered"` // measured events answered in time (grace)
	Unanswered      int           `json:"unanswered"`
	PastTimeout     int           `json:"past_timeout"`
	Mismatches      uint64        `json:"mismatches"`
	BadForm         uint64        `json:"bad_form"`
	UnknownCid      uint64        `json:"unknown_cid"`
	Duplicates      uint64        `json:"duplicates"`
	WrongConn       uint64        `json:"wrong_connection"`
	OtherFrames     uint64        `json:"other_frames"`
	BadType         uint64        `json:"bad_type"`
	ConnErrors      []string      `json:"conn_errors"`
	LatencyUs       pcts          `json:"latency_us"`
	LatencyRH       pcts          `json:"latency_us_request_headers"`
	LatencyRS       pcts          `json:"latency_us_response_headers"`
	SchedLagUs      pcts          `json:"send_lag_us"`
	SendRate        float64       `json:"send_rate"`
	AnswerRate      float64       `json:"answer_rate"`
	SenderCPUS      float64       `json:"sender_cpu_s"`
	WallS           float64       `json:"wall_s"`
	AvgRHBytes      float64       `json:"avg_request_headers_frame_bytes"`
	AvgRSBytes      float64       `json:"avg_response_headers_frame_bytes"`
	DirectFlushes   uint64        `json:"direct_flushes"`
	QueuedFlushes   uint64        `json:"queued_flushes"`
	MaxBacklogBytes uint64        `json:"max_backlog_bytes"`
	GoGCs           int           `json:"go_gcs"`
	GoGCPauseUs     int64         `json:"go_gc_pause_total_us"`
	Watched         *watched      `json:"watched,omitempty"`
}

func (r *run) report(info handshakeInfo, cpu float64, wall time.Duration) report {
	rep := report{
		Socket: r.cfg.socket, Rate: r.cfg.rate, DurationS: r.cfg.duration.Seconds(),
		WarmupS: r.cfg.warmup.Seconds(), Conns: r.cfg.conns, TimeoutUs: r.cfg.timeout.Microseconds(),
		UpstreamUs: r.cfg.upstream.Microseconds(), Precise: r.cfg.precise, Agent: info,
		RealtimeThreads: r.rtThreads.Load(),
		LifecyclesTotal: r.n, EventsTotal: r.sent.Load(), AnsweredTotal: r.answered.Load(),
		SenderCPUS: math.Round(cpu*1000) / 1000, WallS: math.Round(wall.Seconds()*1000) / 1000,
		ConnErrors: []string{},
	}
	toUs := uint32(r.cfg.timeout.Microseconds())
	var all, rh, rs, lags []uint32
	for e := 2 * r.nWarm; e < 2*r.n; e++ {
		if r.connOf[e].Load() == 0 {
			continue // never handed to a connection (cannot happen unless the run was cut)
		}
		rep.EventsSent++
		lags = append(lags, r.lag[e])
		if r.lat[e] == 0 {
			rep.Unanswered++
			continue
		}
		l := r.lat[e] - 1
		rep.Answered++
		if l > toUs {
			rep.PastTimeout++
		}
		all = append(all, l)
		if e&1 == 0 {
			rh = append(rh, l)
		} else {
			rs = append(rs, l)
		}
	}
	rep.Sent = r.n - r.nWarm
	for _, st := range r.rstats {
		rep.BadForm += st.badForm
		rep.UnknownCid += st.unknownCid
		rep.Duplicates += st.duplicate
		rep.WrongConn += st.wrongConn
		rep.OtherFrames += st.otherFrames
		rep.BadType += st.badType
	}
	rep.Mismatches = rep.BadForm + rep.UnknownCid + rep.Duplicates + rep.WrongConn
	for _, c := range r.conns {
		if e, ok := c.err.Load().(string); ok {
			rep.ConnErrors = append(rep.ConnErrors, fmt.Sprintf("connection %d: %s", c.idx, e))
		}
		rep.DirectFlushes += c.direct.Load()
		rep.QueuedFlushes += c.queued.Load()
		rep.MaxBacklogBytes = max(rep.MaxBacklogBytes, c.maxOut.Load())
	}
	rep.LatencyUs, rep.LatencyRH, rep.LatencyRS = percentiles(all), percentiles(rh), percentiles(rs)
	rep.SchedLagUs = percentiles(lags)
	if span := r.lastMeasuredNs - r.firstMeasuredNs; span > 0 && rep.Sent > 1 {
		rep.SendRate = math.Round(float64(rep.Sent-1)/(float64(span)/1e9)*10) / 10
	}
	rep.AnswerRate = math.Round(float64(rep.Answered)/r.cfg.duration.Seconds()*10) / 10
	if r.framesRH > 0 {
		rep.AvgRHBytes = math.Round(float64(r.bytesRH)/float64(r.framesRH)*10) / 10
		rep.AvgRSBytes = math.Round(float64(r.bytesRS)/float64(r.framesRH)*10) / 10
	}
	return rep
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// ---------------------------------------------------------------------------------------------

func main() {
	cfg := parseFlags()
	var nb [4]byte
	if f, err := os.Open("/dev/urandom"); err == nil {
		_, _ = io.ReadFull(f, nb[:])
		f.Close()
	}
	runNonce = binary.LittleEndian.Uint32(nb[:]) | 1
	initIPs(cfg.seed)
	if cfg.selftest {
		os.Exit(selftest(cfg.seed))
	}
	debug.SetGCPercent(400)
	if os.Getenv("GOMAXPROCS") == "" {
		// One P stays with the scheduler (it sleeps in raw syscalls, holding it); the rest are
		// plenty, so a reader or writer never waits for a P behind another.
		runtime.GOMAXPROCS(runtime.NumCPU() + 1 + cfg.conns)
	}

	r := &run{cfg: cfg}
	r.n = int(math.Floor(cfg.rate * (cfg.warmup + cfg.duration).Seconds()))
	r.nWarm = int(math.Ceil(cfg.rate*cfg.warmup.Seconds() - 1e-9))
	r.stepNs = 1e9 / cfg.rate
	r.upNs = int64(cfg.upstream)
	r.connOf = make([]atomic.Uint32, 2*r.n)
	r.lat = make([]uint32, 2*r.n)
	r.lag = make([]uint32, 2*r.n)
	r.rstats = make([]readStats, cfg.conns)

	var info handshakeInfo
	for k := range cfg.conns {
		c, hi, err := dialAndHandshake(cfg.socket, k)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: "+err.Error())
			os.Exit(1)
		}
		info = hi
		r.conns = append(r.conns, c)
	}
	var rwg sync.WaitGroup
	for k, c := range r.conns {
		rwg.Add(1)
		go r.reader(c, &r.rstats[k], &rwg)
		go c.writer()
	}

	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	cpu0 := cpuSeconds()
	r.epoch = time.Now().Add(5 * time.Millisecond)
	wall0 := time.Now()
	var w watched
	wdone := make(chan struct{})
	if cfg.watchPid > 0 {
		go r.watch(cfg.watchPid, &w, wdone)
	} else {
		close(wdone)
	}
	done := make(chan struct{})
	go func() { r.schedule(); close(done) }()
	<-done
	// Grace: wait for outstanding answers, then stop.
	deadline := r.endSendNs + int64(cfg.grace)
	for r.answered.Load() < r.sent.Load() && r.now() < deadline {
		time.Sleep(2 * time.Millisecond)
	}
	r.closing.Store(true)
	for _, c := range r.conns {
		c.closing.Store(true)
		_ = c.uc.SetDeadline(time.Now()) // wakes the readers and a blocked writer
	}
	rwg.Wait()
	for _, c := range r.conns {
		c.mu.Lock()
		close(c.sig)
		c.mu.Unlock()
		c.uc.Close()
	}
	wall := time.Since(wall0)
	rep := r.report(info, cpuSeconds()-cpu0, wall)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.GoGCs, rep.GoGCPauseUs = int(ms.NumGC), int64(ms.PauseTotalNs/1000)
	<-wdone
	if cfg.watchPid > 0 {
		w.VmHWMMiB, w.VmRSSMiB = procMiB(cfg.watchPid, "VmHWM"), procMiB(cfg.watchPid, "VmRSS")
		rep.Watched = &w
	}

	fmt.Printf("loadgen rate=%.0f/s sent=%d answered=%d/%d unanswered=%d past_%dus=%d mismatches=%d "+
		"p50=%dus p99=%dus p99.9=%dus max=%dus send_rate=%.1f/s answer_rate=%.1f/s send_lag_p99=%dus cpu=%.2fs conn_errors=%d\n",
		cfg.rate, rep.Sent, rep.Answered, rep.EventsSent, rep.Unanswered, rep.TimeoutUs, rep.PastTimeout,
		rep.Mismatches, rep.LatencyUs.P50, rep.LatencyUs.P99, rep.LatencyUs.P999, rep.LatencyUs.Max,
		rep.SendRate, rep.AnswerRate, rep.SchedLagUs.P99, rep.SenderCPUS, len(rep.ConnErrors))
	if rep.Watched != nil {
		fmt.Printf("watched pid=%d cpu=%.1f%% hwm=%.1fMiB rss=%.1fMiB threads=%v %s\n", w.Pid, w.CPUPct,
			w.VmHWMMiB, w.VmRSSMiB, w.Threads, w.Error)
	}
	if cfg.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(cfg.jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: "+err.Error())
			os.Exit(1)
		}
	}
}

// selftest checks that generated frames are what the proxy would write: valid JSON whose
// re-encoding with sorted keys (Go sorts map keys bytewise) is byte-identical, a top-level and a
// metadata correlation_id that agree, ids that decode back, and the frame sizes.
func selftest(seed uint64) int {
	g := &gen{seed: seed, nonce: 0x1234567}
	g.setClock(time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC))
	if string(g.ts) != `"2026-03-01T12:00:00.123456789+00:00"` {
		fmt.Println("selftest: bad timestamp", string(g.ts))
		return 1
	}
	var sumRH, sumRS, minRH, maxRH int
	minRH = math.MaxInt
	const n = 20000
	for i := range n {
		for _, typ := range []byte{0x10, 0x12} {
			var f []byte
			if typ == 0x10 {
				f = g.appendRequestHeaders(nil, i)
			} else {
				f = g.appendResponseHeaders(nil, i)
			}
			if int(binary.BigEndian.Uint32(f)) != len(f)-4 || f[4] != typ {
				fmt.Println("selftest: bad frame header")
				return 1
			}
			p := f[5:]
			var v map[string]any
			dec := json.NewDecoder(bytes.NewReader(p))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				fmt.Printf("selftest: invalid JSON (%v): %s\n", err, p)
				return 1
			}
			var out bytes.Buffer
			enc := json.NewEncoder(&out)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(v)
			if !bytes.Equal(bytes.TrimSpace(out.Bytes()), p) {
				fmt.Printf("selftest: not canonical (sorted, compact):\n got %s\nwant %s\n", p, out.Bytes())
				return 1
			}
			cid, _ := v["correlation_id"].(string)
			if j, ok := decodeCid([]byte(cid), g.nonce); !ok || j != i {
				fmt.Println("selftest: correlation id does not decode:", cid)
				return 1
			}
			if typ == 0x10 {
				md := v["metadata"].(map[string]any)
				if md["correlation_id"] != cid {
					fmt.Println("selftest: metadata.correlation_id differs")
					return 1
				}
				sumRH += len(f)
				minRH, maxRH = min(minRH, len(f)), max(maxRH, len(f))
			} else {
				sumRS += len(f)
			}
			if i == 3 {
				fmt.Printf("sample 0x%02x (%d bytes): %s\n", typ, len(f), p)
			}
		}
	}
	if _, ok := decodeCid([]byte("zzzzzzzzzzz"), g.nonce); ok {
		fmt.Println("selftest: out-of-range id accepted")
		return 1
	}
	ack := append(append(append([]byte{}, ackPrefix...), "2Fq8xK3mNpQ"...), ackSuffix...)
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{string(ack), true},
		{`{"decision":"allow","version":2,"audit":{"custom":{"correlation_id":"2Fq8xK3mNpQ"}}}`, true},
		{`{"version":2,"decision":{"allow":{}},"audit":{"custom":{"correlation_id":"2Fq8xK3mNpQ"}}}`, false},
		{`{"version":2.0,"decision":"allow","audit":{"custom":{"correlation_id":"2Fq8xK3mNpQ"}}}`, false},
		{`{"version":2,"decision":"allow","audit":{"custom":{"correlation_id":"2Fq8xK3mNpQ"}}}x`, false},
	} {
		_, ok := answerCid([]byte(tc.p))
		if ok != tc.ok {
			fmt.Println("selftest: answer check wrong for", tc.p)
			return 1
		}
	}
	fmt.Printf("selftest ok: %d lifecycles; request_headers frames avg %d bytes (min %d, max %d), response_headers avg %d bytes\n",
		n, sumRH/n, minRH, maxRH, sumRS/n)
	return 0
}
