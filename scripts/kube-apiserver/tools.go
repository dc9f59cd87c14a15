//go:build tools

// Package tools names the command this module builds, so that go.sum covers its whole build.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
