// Package gatewayfuzz holds the gateway's fuzz targets (`make fuzz`). They live apart from the
// gateway's own tests, which start whole nodes, so that a fuzzing build instruments the gateway
// and its decoders only, not the cluster and its dependencies.
package gatewayfuzz
