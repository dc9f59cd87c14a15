package cluster

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// bounceAfterStop is the room grains' mailbox. protoactor drops, without a word, the user
// messages that a mailbox delivers after its actor stopped (actor_context.go, InvokeUserMessage:
// "already stopped"). A request that reached a grain just as it passivated or stopped itself
// would then wait for its whole timeout. This mailbox answers such requests with a
// DeadLetterResponse instead, which the cluster's Request treats as "activation gone": it
// forgets the PID and retries, reaching a fresh activation.
//
// Its queues are protoactor's lock-free linked lists (UnboundedLockfree), not the default ring
// buffer: an empty ring of ten slots costs each of a node's 100,000 idle rooms about 200 bytes,
// a list holds only what is queued.
func bounceAfterStop(system *actor.ActorSystem) actor.MailboxProducer {
	unbounded := actor.UnboundedLockfree()
	return func() actor.Mailbox {
		return &bouncingMailbox{Mailbox: unbounded(), system: system}
	}
}

type bouncingMailbox struct {
	actor.Mailbox
	system *actor.ActorSystem
}

func (m *bouncingMailbox) RegisterHandlers(invoker actor.MessageInvoker, dispatcher actor.Dispatcher) {
	m.Mailbox.RegisterHandlers(&bouncingInvoker{MessageInvoker: invoker, system: m.system}, dispatcher)
}

type bouncingInvoker struct {
	actor.MessageInvoker
	system  *actor.ActorSystem
	stopped atomic.Bool
}

func (i *bouncingInvoker) InvokeSystemMessage(msg interface{}) {
	i.MessageInvoker.InvokeSystemMessage(msg)
	if _, ok := msg.(*actor.Stop); ok {
		// The actor has stopped (a room grain has no children, so stopping completes here).
		i.stopped.Store(true)
	}
}

func (i *bouncingInvoker) InvokeUserMessage(msg interface{}) {
	if !i.stopped.Load() {
		i.MessageInvoker.InvokeUserMessage(msg)
		return
	}
	if env, ok := msg.(*actor.MessageEnvelope); ok && env.Sender != nil {
		i.system.Root.Send(env.Sender, &actor.DeadLetterResponse{})
	}
}
