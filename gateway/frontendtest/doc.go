// Package frontendtest proves that the reference front end (La Suite Meet's built web client)
// works unchanged against meetcoord: its tests drive headless Chromium through the pages as a
// person would, against a node serving the front end (FRONTEND_DIR) with browser login, a real
// Redis and a real livekit-server. The package has tests only.
package frontendtest
