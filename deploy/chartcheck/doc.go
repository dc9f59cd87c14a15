// Package chartcheck holds the test of the Helm chart in deploy/helm/meetcoord: `make chart-check`
// renders the chart with helm and the test decodes every rendered object strictly with
// client-go's scheme and checks what the service relies on. It has no non-test code.
package chartcheck
