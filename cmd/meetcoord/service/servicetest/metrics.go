package servicetest

import (
	"bytes"
	"net/http"
	"slices"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one scrape of a node's /metrics: its metric families by name.
type Metrics map[string]*dto.MetricFamily

// Metrics scrapes the /metrics of the node c talks to (Prometheus text format).
func (c *Client) Metrics() Metrics {
	c.t.Helper()
	res := c.Do(http.MethodGet, "/metrics", nil)
	if res.Status != http.StatusOK {
		c.t.Fatalf("GET /metrics: %d %s", res.Status, res.Body)
	}
	families, err := ParseMetrics(res.Body)
	if err != nil {
		c.t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// ParseMetrics reads a /metrics answer (Prometheus text format).
func ParseMetrics(exposition []byte) (Metrics, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(bytes.NewReader(exposition))
}

// Value is the value of the counter, gauge or untyped series name{labels} (labels in name/value
// pairs, all of the series' labels), or the count of samples of a histogram's, and whether the
// scrape has that series (a labelled counter appears at its first increment).
func (m Metrics) Value(name string, labels ...string) (float64, bool) {
	family := m[name]
	if family == nil {
		return 0, false
	}
	for _, series := range family.GetMetric() {
		if !hasExactly(series.GetLabel(), labels) {
			continue
		}
		switch {
		case series.Counter != nil:
			return series.GetCounter().GetValue(), true
		case series.Gauge != nil:
			return series.GetGauge().GetValue(), true
		case series.Untyped != nil:
			return series.GetUntyped().GetValue(), true
		case series.Histogram != nil:
			return float64(series.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func hasExactly(have []*dto.LabelPair, want []string) bool {
	if len(have) != len(want)/2 {
		return false
	}
	for i := 0; i+1 < len(want); i += 2 {
		if !slices.ContainsFunc(have, func(l *dto.LabelPair) bool { return l.GetName() == want[i] && l.GetValue() == want[i+1] }) {
			return false
		}
	}
	return true
}

// Metric is the value of the series name{labels} of the node's /metrics (see Metrics.Value); a
// series the node does not expose fails the test (a misspelt or renamed metric would otherwise
// read as 0).
func (c *Client) Metric(name string, labels ...string) float64 {
	c.t.Helper()
	v, ok := c.Metrics().Value(name, labels...)
	if !ok {
		c.t.Fatalf("metric %s%v not found", name, labels)
	}
	return v
}

// Metric is the value of one series of the node's /metrics: see Client.Metric.
func (n *Node) Metric(name string, labels ...string) float64 {
	n.t.Helper()
	return n.Client("").Metric(name, labels...)
}

// Metrics scrapes the node's /metrics: see Client.Metrics.
func (n *Node) Metrics() Metrics {
	n.t.Helper()
	return n.Client("").Metrics()
}
