package k8sprovider

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Verbs is what the provider does with pods in its namespace, exactly: patch its own Pod's marks,
// list and watch the cluster's Pods (an informer). The chart's Role grants these and no more.
var Verbs = []string{"list", "watch", "patch"}

// accessRecheck is how often a member whose service account lacks a verb asks again (so that a
// corrected Role takes effect without a restart).
const accessRecheck = 10 * time.Second

// awaitAccess returns once the API server says this member may do each of Verbs on pods in its
// namespace (SelfSubjectAccessReview, which every authenticated user may ask). Until then the
// member neither marks its Pod nor publishes a membership, so it is not ready: a Role that lacks
// a verb is reported by name at start instead of as a membership that silently stops updating
// (a client that may list but not watch would see the members only at each re-list). It returns
// false when ctx ends first.
func (p *Provider) awaitAccess(ctx context.Context) bool {
	pause := 250 * time.Millisecond
	for {
		missing, err := p.missingVerbs(ctx)
		switch {
		case err != nil:
			p.log.Warn("checking the service account's access to pods failed; retrying", slog.Any("error", err), slog.Duration("in", pause))
		case len(missing) > 0:
			p.log.Error("the service account may not "+strings.Join(missing, ", ")+" pods in namespace "+p.settings.PodNamespace+
				": not joining the membership (its Role needs exactly "+strings.Join(Verbs, ", ")+" on pods; see README, Deploying)",
				slog.Any("missing_verbs", missing))
			pause = accessRecheck
		default:
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(pause):
		}
		if err != nil {
			pause = min(2*pause, 5*time.Second)
		}
	}
}

// missingVerbs is the verbs of Verbs the API server refuses this member on pods.
func (p *Provider) missingVerbs(ctx context.Context) ([]string, error) {
	var missing []string
	for _, verb := range Verbs {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: p.settings.PodNamespace, Verb: verb, Resource: "pods"},
		}}
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		answer, err := p.client.AuthorizationV1().SelfSubjectAccessReviews().Create(callCtx, review, metav1.CreateOptions{})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("access review of %s on pods: %w", verb, err)
		}
		if !answer.Status.Allowed {
			missing = append(missing, verb)
		}
	}
	return missing, nil
}
