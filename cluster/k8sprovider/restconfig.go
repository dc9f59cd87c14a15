package k8sprovider

import (
	"fmt"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// restConfig is how to reach the API server: from the kubeconfig files when kubeconfig names
// some (outside a cluster), else from the Pod's service account (its token and CA are mounted
// under /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT say where
// the API server is; the token is re-read as it rotates).
func restConfig(kubeconfig string) (*rest.Config, error) {
	var config *rest.Config
	var err error
	if kubeconfig != "" {
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(kubeconfig)}
		config, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubernetes API server from KUBECONFIG %s: %w", kubeconfig, err)
		}
	} else {
		config, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("kubernetes API server from the pod's service account (outside a cluster, set KUBECONFIG): %w", err)
		}
	}
	config.UserAgent = "meetcoord"
	return config, nil
}
