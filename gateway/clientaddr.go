package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddress is the caller's network address, for rate limits (IPv6 by /64): the connection's
// peer, unless that peer is one of TRUSTED_PROXIES, in which case the proxies' X-Forwarded-For
// is read from the right and the first address that is not itself a trusted proxy is the client.
// A header from anyone else is ignored: a caller could write any address there.
func (g *Gateway) clientAddress(r *http.Request) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	if !g.trustedProxy(peer) {
		return limitKey(peer)
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		addr, err := netip.ParseAddr(hop)
		if err != nil {
			break // a malformed hop: nothing left of it can be trusted
		}
		if !g.trustedProxy(addr.String()) {
			return limitKey(addr.String())
		}
		peer = addr.String()
	}
	return limitKey(peer)
}

// limitKey is an address as rate limits count it: an IPv6 address stands for its /64, which one
// client usually holds whole (counting each /128 would give it 2^64 allowances).
func limitKey(address string) string {
	addr, err := netip.ParseAddr(address)
	if err != nil || !addr.Unmap().Is6() {
		return address
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}

func (g *Gateway) trustedProxy(address string) bool {
	addr, err := netip.ParseAddr(address)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// clientKey is the rate-limit key of a caller: the user, else the lobby secret, else the
// network address.
func (g *Gateway) clientKey(r *http.Request, u *userRecord, lobbySecret string) string {
	switch {
	case u != nil:
		return "user:" + u.ID
	case lobbySecret != "":
		return "lobby:" + lobbySecret
	}
	return "addr:" + g.clientAddress(r)
}
