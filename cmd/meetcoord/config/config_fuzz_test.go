package config

import (
	"strings"
	"testing"
)

// FuzzLoadConfig: whatever the environment holds, loading it returns a configuration or an
// error naming a variable; it never panics.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX=(unclosed", "REQUEST_ENTRY_THROTTLE_RATES=5/fortnight\nLOBBY_WAITING_TIMEOUT=-1",
		"TRUSTED_PROXIES=10.0.0.0/8,::1,nonsense", "BREVO_API_CONTACT_ATTRIBUTES=[1]\nBREVO_API_CONTACT_LIST_IDS=3,x",
		"ROOM_TELEPHONY_ENABLED=true\nROOM_TELEPHONY_PHONE_NUMBER=+33 1 00 00 00 00", "FRONTEND_ANALYTICS={\"id\":1}\nFRONTEND_SUPPORT=nope",
		"SECRET_KEY=short\nHTTP_MAX_CONNECTIONS=0", "CLUSTER_PROVIDER=automanaged", "SHUTDOWN_DELAY=1e309",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, text string, dev bool) {
		env := map[string]string{}
		for _, line := range strings.Split(text, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasSuffix(k, "_FILE") {
				env[k] = v // *_FILE would read files of the machine: not the loader's input
			}
		}
		_, err := Load(envOf(env), dev)
		if err != nil && !strings.Contains(err.Error(), ":") {
			t.Fatalf("error names no variable: %v", err)
		}
	})
}
