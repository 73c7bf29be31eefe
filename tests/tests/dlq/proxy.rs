//! A proxy in front of moto that refuses some SendMessageBatch calls, as a destination
//! failing midway would.

use pulse_tests::proxy::{Intercept, Proxy, Request, Response, Step};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Answers every `fail_every`-th SendMessageBatch with a 400 error itself.
pub struct RefuseEvery {
    fail_every: usize,
    pub send_batches: AtomicUsize,
    pub refused: AtomicUsize,
}

impl RefuseEvery {
    pub fn start(upstream: u16, fail_every: usize) -> Proxy<RefuseEvery> {
        let intercept = RefuseEvery {
            fail_every,
            send_batches: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
        };
        Proxy::start(upstream, intercept)
    }
}

impl Intercept for RefuseEvery {
    fn request(&self, request: &mut Request) -> Step {
        if !request.is_target("AmazonSQS.SendMessageBatch") {
            return Step::Forward;
        }
        let n = self.send_batches.fetch_add(1, Ordering::SeqCst) + 1;
        if !n.is_multiple_of(self.fail_every) {
            return Step::Forward;
        }
        self.refused.fetch_add(1, Ordering::SeqCst);
        let mut answer = Response::aws_json(
            400,
            &serde_json::json!({"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "refused by the test proxy"}),
        );
        answer.headers.push((
            "x-amzn-query-error".into(),
            "AWS.SimpleQueueService.NonExistentQueue;Sender".into(),
        ));
        Step::Answer(answer)
    }
}
