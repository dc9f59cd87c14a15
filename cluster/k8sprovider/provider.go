package k8sprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	protocluster "github.com/asynkron/protoactor-go/cluster"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Settings say which Pod this member runs as and where the API server is.
type Settings struct {
	// ClusterName is CLUSTER_NAME: the value of the cluster label (a valid label value).
	ClusterName string
	// PodName and PodNamespace: the Pod this process runs in (POD_NAME, POD_NAMESPACE, from the
	// downward API).
	PodName      string
	PodNamespace string
	// Kubeconfig is KUBECONFIG (paths separated by the list separator); empty inside a cluster,
	// where the Pod's service account is used.
	Kubeconfig string
}

// unmarkTimeout bounds the patch that removes this member's marks when it leaves.
const unmarkTimeout = 3 * time.Second

// Provider is the protoactor ClusterProvider. Create it with New.
type Provider struct {
	settings Settings
	client   kubernetes.Interface
	log      *slog.Logger

	mu       sync.Mutex
	stop     context.CancelFunc // ends registration and the informer
	done     sync.WaitGroup
	marked   bool // this member's marks are on its Pod
	memberID string
	shutdown bool
}

var _ protocluster.ClusterProvider = (*Provider)(nil)

// New checks the settings and builds the API client (it does not contact the API server yet).
func New(s Settings, logger *slog.Logger) (*Provider, error) {
	if s.PodName == "" || s.PodNamespace == "" {
		return nil, errors.New("POD_NAME and POD_NAMESPACE are required (set them from the downward API: metadata.name, metadata.namespace)")
	}
	if problems := validation.IsValidLabelValue(s.ClusterName); len(problems) > 0 {
		return nil, fmt.Errorf("CLUSTER_NAME %q is the value of the Pods' %s label: %s", s.ClusterName, LabelCluster, strings.Join(problems, "; "))
	}
	config, err := restConfig(s.Kubeconfig)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Provider{settings: s, client: client,
		log: logger.With(slog.String("component", "k8s-provider"), slog.String("pod", s.PodNamespace+"/"+s.PodName))}, nil
}

// StartMember checks the service account's access (awaitAccess), then marks this member's Pod
// (retrying until the API server accepts it) and follows the cluster's Pods. It returns at once: the member becomes part of the membership, and ready,
// when its marked Pod is seen through the informer.
func (p *Provider) StartMember(c *protocluster.Cluster) error {
	return p.start(c, true)
}

// StartClient follows the cluster's Pods without marking any.
func (p *Provider) StartClient(c *protocluster.Cluster) error {
	return p.start(c, false)
}

func (p *Provider) start(c *protocluster.Cluster, member bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		return errors.New("k8s provider already started")
	}
	ctx, stop := context.WithCancel(context.Background())
	p.stop = stop
	p.memberID = c.ActorSystem.ID
	var marks map[string]any
	if member {
		marks = map[string]any{
			"labels": map[string]any{LabelCluster: p.settings.ClusterName},
			"annotations": map[string]any{
				AnnotationMemberID: c.ActorSystem.ID,
				AnnotationAddress:  c.ActorSystem.Address(),
				AnnotationKinds:    strings.Join(c.GetClusterKinds(), ","),
			},
		}
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		if !p.awaitAccess(ctx) {
			return
		}
		if marks != nil {
			p.done.Add(1)
			go func() { defer p.done.Done(); p.mark(ctx, marks) }()
		}
		p.follow(ctx, c)
	}()
	return nil
}

// mark writes this member's marks on its Pod, retrying (backing off up to 5 s) until it is
// accepted or the provider stops: the API server may be unreachable for a while, or the Role
// may lack "patch" (then every attempt says so in the log).
func (p *Provider) mark(ctx context.Context, marks map[string]any) {
	pause := 250 * time.Millisecond
	for {
		err := p.patch(ctx, marks)
		if err == nil {
			p.mu.Lock()
			p.marked = true
			p.mu.Unlock()
			p.log.Info("joined the membership: this Pod is marked", slog.String("member", p.memberID))
			return
		}
		p.log.Warn("marking this Pod as a member failed; retrying", slog.Any("error", err), slog.Duration("in", pause))
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// patch applies a JSON merge patch to this member's Pod's metadata: only the keys it names
// change, so labels and annotations that others set are kept (protoactor's provider replaces
// the whole label map, losing concurrent changes).
func (p *Provider) patch(ctx context.Context, metadata map[string]any) error {
	body, err := json.Marshal(map[string]any{"metadata": metadata})
	if err != nil {
		return err
	}
	_, err = p.client.CoreV1().Pods(p.settings.PodNamespace).Patch(ctx, p.settings.PodName, types.MergePatchType, body, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("patch pod %s/%s: %w", p.settings.PodNamespace, p.settings.PodName, err)
	}
	return nil
}

// follow runs an informer on the cluster's Pods and publishes the members they stand for to
// protoactor whenever one changes. The informer lists, then watches from the list's resource
// version, and after a broken watch (API server restarted) watches again from the last version
// seen, or lists again: the membership it shows never lacks a Pod that still exists, and a Pod
// deleted meanwhile is dropped. Nothing is published before the first list completes.
func (p *Provider) follow(ctx context.Context, c *protocluster.Cluster) {
	selector := LabelCluster + "=" + p.settings.ClusterName
	informer := coreinformers.NewFilteredPodInformer(p.client, p.settings.PodNamespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = selector })
	_ = informer.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		if ctx.Err() == nil {
			p.log.Warn("watching the cluster's pods failed; the membership stays as last seen until it resumes", slog.Any("error", err))
		}
	})
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default: // a publication is already due; it reads the store as it is then
		}
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}); err != nil {
		p.log.Error("following the cluster's pods", slog.Any("error", err))
		return
	}
	go informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return
	}
	p.log.Info("following the cluster's pods", slog.String("selector", selector))
	for {
		var pods []*corev1.Pod
		for _, obj := range informer.GetStore().List() {
			if pod, ok := obj.(*corev1.Pod); ok {
				pods = append(pods, pod)
			}
		}
		// protoactor publishes a topology event only when the members differ from the last ones.
		c.MemberList.UpdateClusterTopology(membersOf(pods, p.settings.ClusterName))
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// Shutdown leaves the membership: when graceful, it removes this member's marks from its Pod
// (the others' informers see the Pod leave the selection at once), then stops following.
func (p *Provider) Shutdown(graceful bool) error {
	p.mu.Lock()
	if p.shutdown || p.stop == nil {
		p.mu.Unlock()
		return nil
	}
	p.shutdown = true
	p.stop()
	p.mu.Unlock()
	p.done.Wait()
	p.mu.Lock()
	marked := p.marked
	p.mu.Unlock()
	if !graceful || !marked {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), unmarkTimeout)
	defer cancel()
	err := p.patch(ctx, map[string]any{
		"labels":      map[string]any{LabelCluster: nil},
		"annotations": map[string]any{AnnotationMemberID: nil, AnnotationAddress: nil, AnnotationKinds: nil},
	})
	if err != nil {
		return fmt.Errorf("leaving the membership: %w", err)
	}
	p.log.Info("left the membership: this Pod is unmarked")
	return nil
}
