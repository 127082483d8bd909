//! Work split into pieces that any thread may take: the pool's threads, and the thread that
//! needs the work done, which helps instead of sleeping while it waits. Rayon offers no way for
//! a thread outside its pool to run the pool's jobs, and the batch's own thread must stay
//! outside it (it owns the input and the output). So a run on N threads has N - 1 in its pool,
//! and its own thread takes pieces of the oldest chunk whenever it would otherwise wait for it,
//! then of later chunks while the last pieces of the oldest are finishing elsewhere.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A lock, taken even if a thread panicked while it held it: what it guards is only ever
/// replaced whole, so it is never seen half-written.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Pieces of work, each taken by one thread, their outputs kept in the pieces' order.
pub(super) struct SharedWork<I, O> {
    inputs: Vec<Mutex<Option<I>>>,
    outputs: Vec<Mutex<Option<O>>>,
    /// How many pieces were handed out (it runs past their number once all are).
    claimed: AtomicUsize,
    /// How many pieces are done.
    finished: AtomicUsize,
    /// Held to wait for the last piece, and to say it is done.
    waiting: Mutex<()>,
    all_finished: Condvar,
}

/// How many times the waiting thread looks whether the last pieces are done before it sleeps:
/// a piece takes tens of microseconds, and waking from a sleep can take as long.
const SPINS: usize = 1 << 14;

impl<I, O> SharedWork<I, O> {
    pub(super) fn new(inputs: impl IntoIterator<Item = I>) -> Self {
        let inputs: Vec<_> = inputs.into_iter().map(|i| Mutex::new(Some(i))).collect();
        let outputs = inputs.iter().map(|_| Mutex::new(None)).collect();
        SharedWork {
            inputs,
            outputs,
            claimed: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            waiting: Mutex::new(()),
            all_finished: Condvar::new(),
        }
    }

    /// How many pieces there are.
    pub(super) fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Does pieces no thread has taken yet, one after another, until none is left.
    pub(super) fn help(&self, mut run: impl FnMut(I) -> O) {
        while self.help_one(&mut run) {}
    }

    /// Does one piece no thread has taken yet, if one is left; whether it did.
    pub(super) fn help_one(&self, run: impl FnOnce(I) -> O) -> bool {
        loop {
            if self.claimed.load(Ordering::Relaxed) >= self.inputs.len() {
                return false;
            }
            let index = self.claimed.fetch_add(1, Ordering::Relaxed);
            let (Some(input), Some(output)) = (self.inputs.get(index), self.outputs.get(index))
            else {
                return false;
            };
            let Some(taken) = lock(input).take() else {
                continue;
            };
            let done = run(taken);
            *lock(output) = Some(done);
            if self.finished.fetch_add(1, Ordering::AcqRel) + 1 == self.inputs.len() {
                // Under the lock, so that a thread about to sleep cannot miss the news.
                let _waiting = lock(&self.waiting);
                self.all_finished.notify_all();
            }
            return true;
        }
    }

    /// Whether every piece is done.
    pub(super) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire) == self.inputs.len()
    }

    /// Helps until every piece is taken, then waits for the ones other threads took; the
    /// outputs, in the pieces' order. (A piece whose thread panicked never finishes, but a
    /// panic on the pool aborts the process: rayon's default, which the run keeps.)
    pub(super) fn finish(&self, run: impl FnMut(I) -> O) -> impl Iterator<Item = O> + '_ {
        self.help(run);
        let done = || self.is_finished();
        let mut spins = 0;
        while !done() && spins < SPINS {
            std::hint::spin_loop();
            spins += 1;
        }
        let mut waiting = lock(&self.waiting);
        while !done() {
            waiting = self
                .all_finished
                .wait(waiting)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(waiting);
        self.outputs.iter().filter_map(|output| lock(output).take())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::SharedWork;

    #[test]
    fn every_piece_is_done_once_and_outputs_keep_their_order() {
        for helpers in 0..4 {
            let work = Arc::new(SharedWork::new(0..1000u64));
            let runs = Arc::new(AtomicUsize::new(0));
            let double = |runs: &AtomicUsize, i: u64| {
                runs.fetch_add(1, Ordering::Relaxed);
                i * 2
            };
            let threads: Vec<_> = (0..helpers)
                .map(|_| {
                    let (work, runs) = (Arc::clone(&work), Arc::clone(&runs));
                    std::thread::spawn(move || work.help(|i| double(&runs, i)))
                })
                .collect();
            let outputs: Vec<u64> = work.finish(|i| double(&runs, i)).collect();
            assert_eq!(outputs, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
            assert_eq!(runs.load(Ordering::Relaxed), 1000);
            for thread in threads {
                assert!(thread.join().is_ok());
            }
        }
    }

    #[test]
    fn one_piece_at_a_time_until_none_is_left() {
        let work = SharedWork::new([1u8, 2, 3]);
        let mut done = Vec::new();
        while work.help_one(|i| {
            done.push(i);
            i * 10
        }) {
            assert_eq!(work.is_finished(), done.len() == 3);
        }
        assert_eq!(done, [1, 2, 3]);
        assert!(work.is_finished() && !work.help_one(|i| i));
        assert_eq!(work.finish(|i| i).collect::<Vec<_>>(), [10, 20, 30]);
    }

    #[test]
    fn no_pieces_finish_at_once() {
        let work: SharedWork<u8, u8> = SharedWork::new([]);
        assert_eq!(work.finish(|i| i).count(), 0);
        assert_eq!(work.len(), 0);
    }
}
