package chartcheck

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// providerRules is exactly what meetcoord's k8s provider (cluster/k8sprovider) does with the API:
// Patch its own pod's marks (joining, leaving), List and Watch the pods of its namespace by label
// (an informer). Nothing more is granted.
var providerRules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "watch", "patch"}}}

// secretRef is where a secret setting must come from.
type secretRef struct{ secret, key string }

type chartCase struct {
	name   string
	values []string // files, relative to the chart
	set    []string

	fullname, serviceAccount string
	provider                 string
	replicas                 int32
	readinessPath            string
	delaySeconds             int64 // the shutdown delay, by SHUTDOWN_DELAY or by the preStop sleep
	preStopSleep             bool
	graceSeconds             int64
	secrets                  map[string]secretRef // env name -> Secret and key
	plain                    map[string]string    // env name -> value
	serviceMonitor           bool
	metricsPort              int32 // 0: none of its own
}

func TestChartRenders(t *testing.T) {
	cases := []chartCase{
		{
			name:     "defaults",
			fullname: "meet-meetcoord", serviceAccount: "meet-meetcoord",
			provider: "k8s", replicas: 3, readinessPath: "/readyz",
			delaySeconds: 5, graceSeconds: 45,
			secrets: map[string]secretRef{
				"SECRET_KEY":         {"meet-meetcoord", "SECRET_KEY"},
				"REDIS_URL":          {"meet-meetcoord", "REDIS_URL"},
				"LIVEKIT_API_KEY":    {"meet-meetcoord", "LIVEKIT_API_KEY"},
				"LIVEKIT_API_SECRET": {"meet-meetcoord", "LIVEKIT_API_SECRET"},
			},
			plain:       map[string]string{"CLUSTER_PROVIDER": "k8s", "CLUSTER_PORT": "8090", "LISTEN_ADDR": ":8080", "METRICS_ADDR": ":9090"},
			metricsPort: 9090,
		},
		{
			name:     "every option",
			values:   []string{"ci/full-values.yaml"},
			fullname: "meet-coordinator", serviceAccount: "meet-sa",
			provider: "etcd", replicas: 4, readinessPath: "/readyz",
			delaySeconds: 10, preStopSleep: true, graceSeconds: 60,
			secrets: map[string]secretRef{
				"SECRET_KEY":                 {"meet-server-key", "key"},
				"LIVEKIT_API_KEY":            {"livekit-keys", "key"},
				"LIVEKIT_API_SECRET":         {"livekit-keys", "secret"},
				"OIDC_RP_CLIENT_SECRET":      {"oidc", "client-secret"},
				"EMAIL_HOST_PASSWORD":        {"smtp", "password"},
				"APPLICATION_JWT_SECRET_KEY": {"external-api", "jwt"},
				"BREVO_API_KEY":              {"meet-secrets", "brevo"},
			},
			plain: map[string]string{
				"CLUSTER_PROVIDER": "etcd", "ETCD_ENDPOINTS": "etcd-0.etcd:2379,etcd-1.etcd:2379", "CLUSTER_NAME": "meet",
				"REDIS_URL": "redis://redis-master.data:6379/0", "OIDC_ISSUER": "https://id.example.org/realms/meet",
				"OIDC_RP_CLIENT_ID": "meet", "EMAIL_HOST": "smtp.example.org", "EMAIL_HOST_USER": "meet",
				"CORS_ALLOWED_ORIGINS": "https://meet.example.org", "APP_BASE_URL": "https://meet.example.org",
				"METRICS_ADDR": ":9100",
			},
			serviceMonitor: true, metricsPort: 9100,
		},
		{
			name:     "one node without a provider, metrics on the API's port",
			set:      []string{"cluster.provider=none", "replicaCount=1", "metrics.port=0", "metrics.serviceMonitor.enabled=true", "existingSecret=meet-env"},
			fullname: "meet-meetcoord", serviceAccount: "meet-meetcoord",
			provider: "none", replicas: 1, readinessPath: "/readyz",
			delaySeconds: 5, graceSeconds: 45,
			secrets:        map[string]secretRef{"SECRET_KEY": {"meet-env", "SECRET_KEY"}, "REDIS_URL": {"meet-env", "REDIS_URL"}},
			plain:          map[string]string{"CLUSTER_PROVIDER": "none"},
			serviceMonitor: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			manifests, err := helmTemplate(t, tc.values, tc.set...)
			if err != nil {
				t.Fatal(err)
			}
			checkRendering(t, tc, decodeAll(t, manifests))
		})
	}
}

// TestChartRefusesBadValues: settings that would give a broken cluster stop the rendering.
func TestChartRefusesBadValues(t *testing.T) {
	cases := []struct {
		name    string
		set     []string
		message string
	}{
		{"automanaged provider", []string{"cluster.provider=automanaged"}, "not supported by the chart"},
		{"several nodes without a provider", []string{"cluster.provider=none"}, "runs one node"},
		{"etcd without endpoints", []string{"cluster.provider=etcd"}, "needs cluster.etcdEndpoints"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helmTemplate(t, nil, tc.set...)
			if err == nil || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("helm template with %v: error %v, want one saying %q", tc.set, err, tc.message)
			}
		})
	}
}

func checkRendering(t *testing.T, tc chartCase, r rendered) {
	deployment := object[*appsv1.Deployment](t, r, "Deployment")
	if deployment.Name != tc.fullname {
		t.Errorf("Deployment name %q, want %q", deployment.Name, tc.fullname)
	}
	if deployment.Spec.Replicas == nil || *deployment.Spec.Replicas != tc.replicas {
		t.Errorf("replicas %v, want %d", deployment.Spec.Replicas, tc.replicas)
	}
	pod := deployment.Spec.Template
	podLabels := labels.Set(pod.Labels)
	if sel := deployment.Spec.Selector.MatchLabels; !labels.SelectorFromSet(sel).Matches(podLabels) {
		t.Errorf("Deployment selector %v does not select its pods %v", sel, pod.Labels)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	container := pod.Spec.Containers[0]
	env := envByName(t, container.Env)

	checkSecurity(t, pod.Spec, container)
	checkProbes(t, tc, container)
	checkShutdown(t, tc, pod.Spec, container, env)
	checkEnv(t, tc, env)
	checkCluster(t, tc, r, pod.Spec, container, env)

	service := object[*corev1.Service](t, r, "Service")
	if !labels.SelectorFromSet(service.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not select the pods %v", service.Spec.Selector, pod.Labels)
	}
	for _, port := range service.Spec.Ports {
		if !hasContainerPort(container, port.TargetPort.StrVal) {
			t.Errorf("Service port %s targets %q, which the container does not name", port.Name, port.TargetPort.StrVal)
		}
	}
	if tc.metricsPort != 0 {
		if env["METRICS_ADDR"].Value != ":"+itoa(tc.metricsPort) || !hasContainerPort(container, "metrics") {
			t.Errorf("metrics port %d: METRICS_ADDR %q, container ports %v", tc.metricsPort, env["METRICS_ADDR"].Value, container.Ports)
		}
	} else if _, set := env["METRICS_ADDR"]; set {
		t.Errorf("METRICS_ADDR set without a metrics port")
	}

	pdb := object[*policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget")
	if !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(podLabels) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector.MatchLabels)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() < 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable %v: a drain could never evict a pod", pdb.Spec.MaxUnavailable)
	}

	if !tc.serviceMonitor {
		if r.serviceMonitor != nil {
			t.Errorf("ServiceMonitor rendered while disabled")
		}
		return
	}
	sm := r.serviceMonitor
	if sm == nil {
		t.Fatal("ServiceMonitor missing")
	}
	if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(service.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service %v", sm.Spec.Selector.MatchLabels, service.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Fatalf("ServiceMonitor endpoints %+v, want one on /metrics", sm.Spec.Endpoints)
	}
	wantPort := "http"
	if tc.metricsPort != 0 {
		wantPort = "metrics"
	}
	if sm.Spec.Endpoints[0].Port != wantPort || !slices.ContainsFunc(service.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == wantPort }) {
		t.Errorf("ServiceMonitor scrapes port %q, want the Service's %q", sm.Spec.Endpoints[0].Port, wantPort)
	}
}

func checkSecurity(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext %+v: want no privilege escalation, a read-only root and every capability dropped", sc)
	}
}

func checkProbes(t *testing.T, tc chartCase, c corev1.Container) {
	t.Helper()
	for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("%s probe %+v: want an HTTP GET", name, probe)
			continue
		}
		want := "/healthz"
		if name == "readiness" {
			want = tc.readinessPath
		}
		if probe.HTTPGet.Path != want || probe.HTTPGet.Port.StrVal != "http" {
			t.Errorf("%s probe GET %s on %q, want %s on the http port", name, probe.HTTPGet.Path, probe.HTTPGet.Port.String(), want)
		}
	}
}

// checkShutdown: the delay is waited once, either by meetcoord (SHUTDOWN_DELAY) or by a preStop
// sleep hook (then SHUTDOWN_DELAY is 0), and the grace period covers it and the drain.
func checkShutdown(t *testing.T, tc chartCase, pod corev1.PodSpec, c corev1.Container, env map[string]corev1.EnvVar) {
	t.Helper()
	delay, ok := env["SHUTDOWN_DELAY"]
	if !ok {
		t.Fatal("SHUTDOWN_DELAY not set")
	}
	var preStop *corev1.LifecycleHandler
	if c.Lifecycle != nil {
		preStop = c.Lifecycle.PreStop
	}
	if tc.preStopSleep {
		if preStop == nil || preStop.Sleep == nil || preStop.Sleep.Seconds != tc.delaySeconds || preStop.Exec != nil || preStop.HTTPGet != nil {
			t.Errorf("preStop %+v, want only a sleep of %d s", preStop, tc.delaySeconds)
		}
		if delay.Value != "0" {
			t.Errorf("SHUTDOWN_DELAY %q with a preStop sleep, want 0 (the delay waited once)", delay.Value)
		}
	} else {
		if preStop != nil {
			t.Errorf("preStop %+v while meetcoord waits SHUTDOWN_DELAY itself", preStop)
		}
		if delay.Value != itoa(int32(tc.delaySeconds)) {
			t.Errorf("SHUTDOWN_DELAY %q, want %d", delay.Value, tc.delaySeconds)
		}
	}
	// meetcoord's own HTTP drain is bounded by 20 s after the delay; leaving the cluster follows.
	const httpDrainSeconds = 20
	grace := pod.TerminationGracePeriodSeconds
	if grace == nil || *grace != tc.graceSeconds || *grace < tc.delaySeconds+httpDrainSeconds+10 {
		t.Errorf("terminationGracePeriodSeconds %v, want %d (delay %d s + HTTP drain %d s + leaving the cluster)", grace, tc.graceSeconds, tc.delaySeconds, httpDrainSeconds)
	}
}

func checkEnv(t *testing.T, tc chartCase, env map[string]corev1.EnvVar) {
	t.Helper()
	for name, want := range tc.secrets {
		v, ok := env[name]
		if !ok || v.Value != "" || v.ValueFrom == nil || v.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s = %+v, want it from Secret %s key %s", name, v, want.secret, want.key)
			continue
		}
		ref := v.ValueFrom.SecretKeyRef
		if ref.Name != want.secret || ref.Key != want.key {
			t.Errorf("%s from Secret %s key %s, want Secret %s key %s", name, ref.Name, ref.Key, want.secret, want.key)
		}
	}
	for name, want := range tc.plain {
		if v := env[name]; v.Value != want || v.ValueFrom != nil {
			t.Errorf("%s = %+v, want %q", name, v, want)
		}
	}
	// Nothing secret in plain text.
	for _, name := range []string{"SECRET_KEY", "LIVEKIT_API_SECRET", "OIDC_RP_CLIENT_SECRET", "EMAIL_HOST_PASSWORD"} {
		if v, ok := env[name]; ok && v.ValueFrom == nil {
			t.Errorf("%s given as a plain value", name)
		}
	}
}

// checkCluster: every node advertises its pod IP; with the k8s provider the service account can
// do exactly what the provider does and nothing else, and other providers get no API access.
func checkCluster(t *testing.T, tc chartCase, r rendered, pod corev1.PodSpec, c corev1.Container, env map[string]corev1.EnvVar) {
	t.Helper()
	advertise := env["CLUSTER_ADVERTISE_ADDR"]
	if advertise.ValueFrom == nil || advertise.ValueFrom.FieldRef == nil || advertise.ValueFrom.FieldRef.FieldPath != "status.podIP" {
		t.Errorf("CLUSTER_ADVERTISE_ADDR %+v, want the downward API's status.podIP", advertise)
	}
	if pod.ServiceAccountName != tc.serviceAccount {
		t.Errorf("serviceAccountName %q, want %q", pod.ServiceAccountName, tc.serviceAccount)
	}
	sa := object[*corev1.ServiceAccount](t, r, "ServiceAccount")
	if sa.Name != tc.serviceAccount {
		t.Errorf("ServiceAccount %q, want %q", sa.Name, tc.serviceAccount)
	}
	k8s := tc.provider == "k8s"
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken != k8s {
		t.Errorf("automountServiceAccountToken %v, want %v (the k8s provider uses the in-cluster configuration)", pod.AutomountServiceAccountToken, k8s)
	}
	for name, field := range map[string]string{"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"} {
		v, set := env[name]
		if !k8s {
			if set {
				t.Errorf("%s set for provider %s", name, tc.provider)
			}
			continue
		}
		if v.ValueFrom == nil || v.ValueFrom.FieldRef == nil || v.ValueFrom.FieldRef.FieldPath != field {
			t.Errorf("%s %+v, want the downward API's %s (the pod the k8s provider marks)", name, v, field)
		}
	}
	if tc.provider != "none" && !hasContainerPort(c, "cluster") {
		t.Errorf("no container port named cluster (CLUSTER_PORT %s)", env["CLUSTER_PORT"].Value)
	}
	_, hasRole := r.objects["Role"]
	_, hasBinding := r.objects["RoleBinding"]
	if !k8s {
		if hasRole || hasBinding {
			t.Errorf("Role or RoleBinding rendered for provider %s, which needs no API access", tc.provider)
		}
		return
	}
	role := object[*rbacv1.Role](t, r, "Role")
	if !reflect.DeepEqual(role.Rules, providerRules) {
		t.Errorf("Role rules %+v, want exactly %+v", role.Rules, providerRules)
	}
	binding := object[*rbacv1.RoleBinding](t, r, "RoleBinding")
	wantSubject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: tc.serviceAccount, Namespace: "video"}}
	if binding.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name}) || !reflect.DeepEqual(binding.Subjects, wantSubject) {
		t.Errorf("RoleBinding %+v binds %+v, want Role %s to %+v", binding.RoleRef, binding.Subjects, role.Name, wantSubject)
	}
}

func object[T any](t *testing.T, r rendered, kind string) T {
	t.Helper()
	obj, ok := r.objects[kind]
	if !ok {
		t.Fatalf("no %s rendered (rendered: %v)", kind, kinds(r))
	}
	typed, ok := obj.(T)
	if !ok {
		t.Fatalf("%s decoded as %T", kind, obj)
	}
	return typed
}

func kinds(r rendered) []string {
	var out []string
	for k := range r.objects {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func envByName(t *testing.T, vars []corev1.EnvVar) map[string]corev1.EnvVar {
	t.Helper()
	out := map[string]corev1.EnvVar{}
	for _, v := range vars {
		if _, dup := out[v.Name]; dup {
			t.Errorf("%s set twice", v.Name)
		}
		out[v.Name] = v
	}
	return out
}

func hasContainerPort(c corev1.Container, name string) bool {
	return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name })
}
