package frontendtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// waitFor bounds every wait on the page: generous, the CI machine may be loaded.
const waitFor = 45 * time.Second

// browser is one person's Chromium (own profile, so own cookies) on the node's front end. It
// records every API answer of 400 or more that the scenario did not declare, and every console
// error, as problems that fail the test at its end.
type browser struct {
	t      *testing.T
	name   string
	base   string // the node's origin
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	expected []expectedStatus
	problems []string
	notes    []string
}

// expectedStatus is an API answer a scenario declares normal: status on a path containing path.
type expectedStatus struct {
	status int
	path   string
}

// chromiumFlags are the suite's Chromium switches: headless, fake camera and microphone that
// need no permission prompt, WebRTC on loopback, nothing phoning home.
func chromiumFlags(execPath, profile string) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(execPath), chromedp.UserDataDir(profile), chromedp.WindowSize(1366, 900)}
	for _, flag := range []string{"headless", "no-sandbox", "disable-gpu", "use-fake-ui-for-media-stream",
		"use-fake-device-for-media-stream", "allow-loopback-in-peer-connection", "disable-background-networking",
		"disable-component-update", "disable-sync", "no-first-run", "disable-quic", "no-default-browser-check",
		"disable-dev-shm-usage", "mute-audio"} {
		opts = append(opts, chromedp.Flag(flag, true))
	}
	return opts
}

// newBrowser starts a browser for one scenario; it is closed (after a screenshot if the
// scenario failed) when the scenario ends.
func (s *suite) newBrowser(t *testing.T, name string) *browser {
	t.Helper()
	return newBrowserOn(t, s.chromium, s.node.URL, name)
}

// newBrowserOn starts Chromium (chromium, its binary) for one person on the front end served
// at base.
func newBrowserOn(t *testing.T, chromium, base, name string) *browser {
	t.Helper()
	profile := t.TempDir()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumFlags(chromium, profile)...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &browser{t: t, name: name, base: base, ctx: ctx, cancel: func() { cancelTab(); cancelAlloc() },
		// How the front end learns that nobody is logged in (frontend.md "How it calls").
		expected: []expectedStatus{{401, "/api/v1.0/users/me"}}}
	if err := chromedp.Do(ctx); err != nil { // starts Chromium
		b.cancel()
		t.Fatalf("start Chromium (%s) for %s: %v", chromium, name, err)
	}
	if err := chromedp.Listen(ctx, b.watch); err != nil {
		b.cancel()
		t.Fatalf("listen to %s's page: %v", name, err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		b.cancel()
		t.Fatalf("enable %s's log: %v", name, err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		b.cancel()
		t.Fatalf("enable %s's network events: %v", name, err)
	}
	t.Cleanup(func() {
		b.reportProblems()
		if t.Failed() {
			saveScreenshot(t, b)
		}
		b.cancel()
	})
	return b
}

// watch runs on the page's event loop: it only records.
func (b *browser) watch(ev any) {
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		u := ev.Response.URL
		if !strings.HasPrefix(u, b.base+"/api/") {
			return
		}
		// Every answer is kept for the failure output: a click that did nothing shows as a call
		// that never came.
		b.note(fmt.Sprintf("API answer %d to %s", ev.Response.Status, strings.TrimPrefix(u, b.base)))
		if ev.Response.Status < 400 {
			return
		}
		status := int(ev.Response.Status)
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.expected {
			if e.status == status && strings.Contains(u, e.path) {
				return
			}
		}
		b.problems = append(b.problems, fmt.Sprintf("unexpected API answer %d to %s", status, strings.TrimPrefix(u, b.base)))
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, string(a.Value))
			}
		}
		text := strings.Join(parts, " ")
		// Errors of the API calls fail the scenario; the rest (media devices, LiveKit's own
		// warnings in a headless browser) are kept in the log for whoever reads a failure.
		if strings.Contains(text, "/api/") || strings.Contains(text, "ApiError") {
			b.problem("console error: " + text)
		} else {
			b.note("console error: " + text)
		}
	case *log.EventEntryAdded:
		// A failed API request is logged here too ("Failed to load resource"): the status
		// check above judges those. What else concerns the API (a blocked request) fails.
		if ev.Entry.Level == log.EntryLevelError && strings.Contains(ev.Entry.URL, "/api/") && ev.Entry.Source != log.EntrySourceNetwork {
			b.problem(fmt.Sprintf("browser log error: %s (%s)", ev.Entry.Text, ev.Entry.URL))
		}
	}
}

// note keeps what the page said for the failure output, without failing.
func (b *browser) note(n string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.notes = append(b.notes, n)
}

func (b *browser) problem(p string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, p)
}

// expect declares an API answer normal for the rest of the scenario (e.g. 404 on an unknown
// room, which the front end answers by creating it).
func (b *browser) expect(status int, path string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expected = append(b.expected, expectedStatus{status, path})
}

func (b *browser) reportProblems() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("%s: %s", b.name, p)
	}
	if b.t.Failed() {
		for _, n := range b.notes {
			b.t.Logf("%s: %s", b.name, n)
		}
	}
}

// run runs actions with the suite's deadline and fails the scenario with what was being done.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// open loads a page of the front end (a path on the node's origin).
func (b *browser) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path))
}

// reload reloads the current page.
func (b *browser) reload() {
	b.t.Helper()
	b.run("reload", chromedp.Reload())
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// namesOfControl is a JavaScript function giving the names a person may call a control by: its
// aria-label (what a screen reader says) and its visible text. Both count: the reference front
// end has aria-labels that are untranslated keys (the lobby's "Accept" is
// "waiting.accept.label").
const namesOfControl = `(e => [e.getAttribute('aria-label'), e.innerText, e.value]
  .filter(Boolean).map(n => n.replace(/\s+/g, ' ').trim()))`

// findControl is a JavaScript expression giving the visible control a person would call name:
// one of its names equal to name, else containing it.
func findControl(name string) chromedp.JSPath {
	return chromedp.JSPath(`(() => {
  const want = ` + jsString(name) + `, namesOf = ` + namesOfControl + `;
  const controls = [...document.querySelectorAll('button, a, input, textarea, label, [role=button], [role=menuitem], [role=menuitemradio], [role=option], [role=tab], [role=radio], [role=switch], [role=checkbox], [role=link]')]
    .filter(e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden');
  return controls.find(e => namesOf(e).some(n => n === want)) || controls.find(e => namesOf(e).some(n => n.includes(want))) || null;
})()`)
}

// findField is the text field a person would find by its label, placeholder or aria-label.
func findField(label string) chromedp.JSPath {
	return chromedp.JSPath(`(() => {
  const want = ` + jsString(label) + `;
  const fields = [...document.querySelectorAll('input, textarea')].filter(e => e.getClientRects().length > 0);
  const labelOf = e => [e.getAttribute('aria-label'), e.placeholder, ...[...(e.labels || [])].map(l => l.innerText)]
    .filter(Boolean).map(s => s.replace(/\s+/g, ' ').trim());
  return fields.find(e => labelOf(e).some(l => l === want)) || fields.find(e => labelOf(e).some(l => l.includes(want))) || null;
})()`)
}

// click clicks the visible control named name, waiting for it to appear.
func (b *browser) click(name string) {
	b.t.Helper()
	b.clickSettled("click "+jsString(name), findControl(name))
}

// clickSettled clicks control once it is on the page and stays where it is: a mouse click lands
// where the control was measured, and a dialog sliding in (the mute confirmation) or a side panel
// opening would take it elsewhere. Settled: no animation runs on it or around it, and it is
// where it was at the previous look.
func (b *browser) clickSettled(what string, control chromedp.JSPath) {
	b.t.Helper()
	place := `(() => {
  const e = ` + string(control) + `;
  if (!e || document.getAnimations().some(a => a.playState === 'running' && a.effect && a.effect.target && a.effect.target.contains(e))) return '';
  const r = e.getBoundingClientRect();
  return [r.x, r.y, r.width, r.height].join(',');
})()`
	b.run(what+" (forget the last place)", chromedp.Evaluate[chromedp.Void](`window.__meetcoordLastPlace = ''`))
	b.waitUntil(what+" (the control, settled)", `(() => {
  const now = `+place+`;
  const settled = now !== '' && now === window.__meetcoordLastPlace;
  window.__meetcoordLastPlace = now;
  return settled;
})()`)
	b.run(what, chromedp.Click(control))
}

// typeInto replaces the text of the field labelled label, as typing over a selection does.
func (b *browser) typeInto(label, text string) {
	b.t.Helper()
	field := findField(label)
	b.run("type into "+jsString(label),
		chromedp.WaitVisible(field),
		chromedp.Click(field),
		chromedp.Evaluate[chromedp.Void](`(() => { const e = `+string(field)+`; e && e.select(); })()`),
		chromedp.SendKeys(field, text))
}

// waitText waits until the page shows text (in its visible text or an accessible name).
func (b *browser) waitText(text string) {
	b.t.Helper()
	b.waitUntil("see "+jsString(text), `(() => {
  const want = `+jsString(text)+`;
  if (document.body && document.body.innerText.includes(want)) return true;
  return [...document.querySelectorAll('[aria-label]')].some(e => e.getClientRects().length > 0 && e.getAttribute('aria-label').includes(want));
})()`)
}

// waitNoText waits until the page no longer shows text.
func (b *browser) waitNoText(text string) {
	b.t.Helper()
	b.waitUntil("no longer see "+jsString(text), `!(document.body && document.body.innerText.includes(`+jsString(text)+`))`)
}

// waitUntil waits until a JavaScript condition on the page holds. The condition is checked
// again and again, across navigations (a login goes through other pages and comes back), until
// it holds or the deadline passes.
func (b *browser) waitUntil(what, condition string) {
	b.t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](condition))
		cancel()
		if err == nil && ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s: not within %s (last error: %v)", b.name, what, waitFor, lastErr)
		}
		select {
		case <-tick.C:
		case <-b.ctx.Done():
			b.t.Fatalf("%s: %s: browser closed", b.name, what)
		}
	}
}

// location is the page's current URL.
func (b *browser) location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("%s: read the location: %v", b.name, err)
	}
	return loc
}

// eval evaluates a JavaScript expression on the page.
func eval[T any](b *browser, expression string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, expression, err)
	}
	return v
}

// screenshot saves the page as dir/<name>.png.
func (b *browser) screenshot(dir string) error {
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, b.name+".png"), png, 0o644)
}

// saveScreenshot keeps what b showed when its scenario failed, under a folder named in the
// failure output.
func saveScreenshot(t *testing.T, b *browser) {
	dir := filepath.Join(os.TempDir(), "meetcoord-frontendtest", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot of %s: %v", b.name, err)
		return
	}
	if err := b.screenshot(dir); err != nil {
		t.Logf("screenshot of %s: %v", b.name, err)
		return
	}
	t.Errorf("screenshot of %s's page: %s", b.name, filepath.Join(dir, b.name+".png"))
}

// clickWithin clicks the control named name in the smallest part of the page that shows text
// (e.g. "More options" in Bob's row of the participants list).
func (b *browser) clickWithin(text, name string) {
	b.t.Helper()
	scoped := chromedp.JSPath(`(() => {
  const text = ` + jsString(text) + `, want = ` + jsString(name) + `, namesOf = ` + namesOfControl + `;
  const controls = [...document.querySelectorAll('button, [role=button]')]
    .filter(e => e.getClientRects().length > 0 && namesOf(e).some(n => n === want));
  let best = null, bestSize = Infinity;
  for (const c of controls) {
    for (let p = c.parentElement; p; p = p.parentElement) {
      if (p.innerText && p.innerText.includes(text)) {
        const size = p.innerText.length;
        if (size < bestSize) { best = c; bestSize = size; }
        break;
      }
    }
  }
  return best;
})()`)
	b.clickSettled("click "+jsString(name)+" near "+jsString(text), scoped)
}
