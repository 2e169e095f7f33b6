/* A small persistent thread pool for adamopt's kernels, and CPU feature
 * detection for choosing a compiled variant at import time.
 *
 * A job is split into chunks.  Each of its T threads (the calling thread,
 * index 0, and T - 1 workers) owns a contiguous home range of chunks, claims
 * them one at a time from one end, and when its home is empty steals chunks
 * from the other end of the others' homes.  So:
 *
 * - with every thread awake, each updates the same part of the arrays step
 *   after step, which stays in its core's cache (with one shared counter,
 *   the split point moved from step to step, and moving the data between
 *   the cores' caches cost about 1 us per job at 10,000 float64 elements);
 * - the caller never waits for a worker that has not started: when the other
 *   cores are busy it steals every chunk, and waits only for chunks that a
 *   worker has claimed and is finishing.
 *
 * Every chunk is an elementwise update of its own range, so the result does
 * not depend on who computes which chunk: bitwise identical to one thread.
 *
 * Idle workers spin (with the `pause` hint) for at most ADAMOPT_SPIN_NS after
 * a job, so that back-to-back steps find them awake, then sleep on a condition
 * variable: an idle pool burns no core.  When threads stop paying (the other
 * cores are busy), the caller backs off to running jobs alone for a growing
 * number of jobs (see adamopt_parallel_for).
 *
 * POSIX threads and GCC/Clang atomics only; elsewhere (MSVC) every job runs
 * on the calling thread.
 *
 * Lifetime protocol (what a worker may read, and when).  A job's memory is
 * the caller's: `ctx` (for the kernels, a struct on the posting thread's
 * stack), `*stop` inside it, and the arrays the chunks update.  The caller
 * returns, and its thread may exit and its stack be unmapped, as soon as
 * every chunk of the job is done; a worker descheduled at any point may run
 * again after that, in the middle of pool_work for a job long over.  So:
 *
 * 1. A worker dereferences job memory (calls fn[phase] on ctx, reads *stop)
 *    only while it holds a claimed, unfinished chunk: a claim is a CAS on a
 *    home word tagged with the job's generation, it succeeds only while that
 *    job is current, and the job stays current (the caller waits) until the
 *    claimed chunk is counted in `done`.  Nothing of the job is read after
 *    the increment of `done` that finishes the chunk.
 * 2. Everything else a worker reads lives in the static `adamopt_pool`:
 *    the settings (fn, ctx, stop, n, chunk, nchunks, nthreads), `posted`,
 *    `done`, the homes, and `stopped`.  A late worker may read a later job's
 *    settings there; that is harmless, because each claim checks the
 *    generation (32 bits: a worker would have to sleep through 2^32 jobs
 *    inside pool_work for a stale claim to succeed) and a worker waiting for
 *    a phase gives up as soon as `posted` says its job is over.
 * 3. The stop decision between the phases is pool-owned and tagged with the
 *    job: a thread that ran a chunk of phase 0 reads *stop (rule 1: it still
 *    holds the chunk) and, if it is set, stores the job's number into
 *    `stopped` before it counts the chunk done.  Once every chunk of phase 0
 *    is done, `stopped == job` exactly when some chunk set *stop; every
 *    thread (the caller too) decides on phase 1 from `stopped`, never from
 *    *stop.  A stopped job's phase-1 homes are emptied before the caller
 *    returns, so a late worker that reads a later job's `stopped` finds
 *    nothing to claim.
 *
 * The fast path gains no lock and no extra atomic read-modify-write: one
 * relaxed load of *stop per chunk of phase 0, one load of `stopped` per
 * thread and job, and a load of `posted` in a worker's wait between phases.
 * tests/test_pool_stress.py runs short-lived posting threads (under
 * AddressSanitizer's stack-use-after-return detection in CI).
 */
#ifndef ADAMOPT_POOL_H
#define ADAMOPT_POOL_H

#include <stddef.h>

typedef void (*adamopt_chunk_fn)(void *ctx, Py_ssize_t begin, Py_ssize_t end);

#define ADAMOPT_MAX_THREADS 64

#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define ADAMOPT_HAVE_POOL 1
#include <pthread.h>
#include <sched.h>
#include <time.h>

#ifndef ADAMOPT_SPIN_NS
#define ADAMOPT_SPIN_NS 100000   /* 0.1 ms */
#endif
#ifndef ADAMOPT_WAIT_SPIN_NS
#define ADAMOPT_WAIT_SPIN_NS 5000   /* 5 us */
#endif

/* A home: generation << 32 | lo << 16 | hi, the unclaimed chunks [lo, hi)
 * of one thread's range in the current job.  A claim is a compare-and-swap
 * of the whole word: it succeeds only while the job it read is current, and
 * a job stays current until every chunk claimed from it is done.  The
 * generation is the low 32 bits of the job's number (with 20 bits, a worker
 * descheduled for 2^20 jobs, seconds of small steps, could claim a chunk of
 * an unrelated job); 65535 chunks of at most CHUNK_MAX (2^18) elements cover
 * 1.7e10 elements, and larger jobs get larger chunks. */
#define ADAMOPT_GEN_SHIFT 32
#define ADAMOPT_LO_SHIFT 16
#define ADAMOPT_MAX_CHUNKS ((1LL << 16) - 1)
#define ADAMOPT_FIELD(s, shift) ((Py_ssize_t)(((s) >> (shift)) & ADAMOPT_MAX_CHUNKS))
#define ADAMOPT_GEN(g) ((unsigned long long)(g) & ((1ULL << (64 - ADAMOPT_GEN_SHIFT)) - 1))

typedef struct {
    unsigned long long word __attribute__((aligned(64)));   /* a cache line each */
} adamopt_home;

static struct {
    pthread_mutex_t submit;     /* one job at a time; others run serially */
    pthread_mutex_t lock;       /* with `wake` and `finished` */
    pthread_cond_t wake;        /* sleeping workers */
    pthread_cond_t finished;    /* a caller waiting for workers */
    int caller_sleeps;
    int skip, backoff;          /* contention back-off, see adamopt_parallel_for */
    Py_ssize_t backoff_n;       /* size of the job that started the back-off */
    int caller_cpu;             /* where the caller posted the current job */
    int awake_jobs;             /* consecutive jobs that woke no worker */
    int woken_jobs;             /* consecutive jobs that woke a worker */
    long long jobs_parallel, jobs_backed_off, worker_sleeps;   /* statistics */
    int nworkers;               /* started so far */
    unsigned long long worker_seen[ADAMOPT_MAX_THREADS];   /* `posted` at creation */
    /* each on a cache line of its own: written by every thread */
    unsigned long long posted __attribute__((aligned(64)));   /* watched by idle workers */
    int sleepers;
    Py_ssize_t done[2] __attribute__((aligned(64)));   /* chunks finished per phase */
    /* the current job, written before the homes publish it */
    adamopt_chunk_fn fn[2] __attribute__((aligned(64)));   /* phases; fn[1] may be NULL */
    void *ctx;
    const int *stop;            /* in ctx: nonzero after phase 0, skip phase 1 */
    unsigned long long stopped; /* the last job whose phase 0 set *stop */
    Py_ssize_t n, chunk, nchunks;
    int nthreads;               /* threads of the job, the caller included */
    adamopt_home homes[2][ADAMOPT_MAX_THREADS];
} adamopt_pool = {.submit = PTHREAD_MUTEX_INITIALIZER, .lock = PTHREAD_MUTEX_INITIALIZER,
                  .wake = PTHREAD_COND_INITIALIZER, .finished = PTHREAD_COND_INITIALIZER,
                  .backoff = 1, .caller_cpu = -1};

static inline void adamopt_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline long long adamopt_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Claim one chunk of home h of a phase of job `job`, from the front or the
 * back; -1 if it is empty or the job is over (a thread late for a job can
 * never take part in the next one). */
static inline Py_ssize_t adamopt_claim(unsigned long long job, int phase, int h, int front) {
    unsigned long long *word = &adamopt_pool.homes[phase][h].word;
    unsigned long long s = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    for (;;) {
        Py_ssize_t lo = ADAMOPT_FIELD(s, ADAMOPT_LO_SHIFT), hi = ADAMOPT_FIELD(s, 0);
        if (lo >= hi || (s >> ADAMOPT_GEN_SHIFT) != ADAMOPT_GEN(job))
            return -1;
        unsigned long long next = front ? s + (1ULL << ADAMOPT_LO_SHIFT) : s - 1;
        if (__atomic_compare_exchange_n(word, &s, next, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return front ? lo : hi - 1;
    }
}

/* Run chunk idx of a phase of job `job`, which the caller claimed.  The job
 * cannot change, nor its memory go, while one of its chunks is unfinished:
 * this is the only place where a worker touches the job's memory (rule 1 at
 * the top).  After a chunk of phase 0, publish a stop in the pool (rule 3). */
static inline void adamopt_run_chunk(unsigned long long job, int phase, Py_ssize_t idx) {
    Py_ssize_t begin = idx * adamopt_pool.chunk;
    Py_ssize_t end = begin + adamopt_pool.chunk;
    if (end > adamopt_pool.n)
        end = adamopt_pool.n;
    adamopt_pool.fn[phase](adamopt_pool.ctx, begin, end);
    const int *stop = adamopt_pool.stop;
    if (phase == 0 && stop != NULL && __atomic_load_n(stop, __ATOMIC_RELAXED))
        __atomic_store_n(&adamopt_pool.stopped, job, __ATOMIC_RELAXED);
    /* adamopt_run_phase's increment of `done` (sequentially consistent)
     * orders this store before the chunk counts as done */
}

/* Run the chunks of thread `self`'s home in one phase, then steal from the
 * others' homes until no chunk is left; return how many this thread ran.
 * Phase 0 runs each home from the back, phase 1 from the front: a chunk
 * checked last is updated first, while it is still in cache. */
static Py_ssize_t adamopt_run_phase(unsigned long long job, int self, int nthreads,
                                    int phase) {
    Py_ssize_t count = 0, idx;
    int forward = phase == 1;
    for (int k = 0; k < nthreads; k++) {
        int h = (self + k) % nthreads;
        /* the owner from its own end, thieves from the other */
        while ((idx = adamopt_claim(job, phase, h, k == 0 ? forward : !forward)) >= 0) {
            adamopt_run_chunk(job, phase, idx);
            count++;
            __atomic_add_fetch(&adamopt_pool.done[phase], 1, __ATOMIC_SEQ_CST);
            if (self != 0 && __atomic_load_n(&adamopt_pool.caller_sleeps, __ATOMIC_SEQ_CST)) {
                pthread_mutex_lock(&adamopt_pool.lock);
                pthread_cond_signal(&adamopt_pool.finished);
                pthread_mutex_unlock(&adamopt_pool.lock);
            }
        }
    }
    return count;
}

/* Wait until every chunk of a phase of job `job`, of `nchunks` chunks, is
 * done: spin, then (the caller) sleep or (a worker) yield, which frees the
 * core for a thread that was descheduled mid-chunk when the other cores are
 * busy.  Returns 1 when the phase is done, 0 (a worker only) when the job is
 * over: a worker late for a job may have read another job's `nchunks`, and
 * would otherwise wait (yielding, a core busy) for a count that the `done`
 * of a later, smaller job never reaches. */
static int adamopt_wait_phase(unsigned long long job, int self, int phase,
                              Py_ssize_t nchunks, long long since) {
    if (__atomic_load_n(&adamopt_pool.done[phase], __ATOMIC_ACQUIRE) >= nchunks)
        return 1;
    long long deadline = since + ADAMOPT_WAIT_SPIN_NS;
    int k = 0;
    while (__atomic_load_n(&adamopt_pool.done[phase], __ATOMIC_ACQUIRE) < nchunks) {
        if (self != 0 && __atomic_load_n(&adamopt_pool.posted, __ATOMIC_ACQUIRE) != job)
            return 0;
        adamopt_cpu_relax();
        if (++k % 16 != 0 || adamopt_now_ns() <= deadline)
            continue;
        if (self != 0) {
            sched_yield();
            continue;
        }
        pthread_mutex_lock(&adamopt_pool.lock);
        __atomic_store_n(&adamopt_pool.caller_sleeps, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&adamopt_pool.done[phase], __ATOMIC_SEQ_CST) < nchunks)
            pthread_cond_wait(&adamopt_pool.finished, &adamopt_pool.lock);
        __atomic_store_n(&adamopt_pool.caller_sleeps, 0, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&adamopt_pool.lock);
    }
    return 1;
}

/* Take part in job `job` (the value of `posted` that announced it) as
 * thread `self`: phase 0, then, once every chunk of phase 0 is done and
 * unless the job stopped (`stopped`, rule 3 at the top), phase 1.  Return
 * how many chunks this thread ran.  The settings read here are the pool's;
 * a thread late for the job may read a later job's, and then claims nothing
 * (every claim checks the job) and waits for nothing (the wait checks
 * `posted`). */
static Py_ssize_t adamopt_pool_work(unsigned long long job, int self) {
    int nthreads = __atomic_load_n(&adamopt_pool.nthreads, __ATOMIC_ACQUIRE);
    if (self >= nthreads)
        return 0;   /* not one of this job's threads */
    /* atomic: a late worker may read these while the caller writes them */
    Py_ssize_t nchunks = __atomic_load_n(&adamopt_pool.nchunks, __ATOMIC_RELAXED);
    int two_phases = __atomic_load_n(&adamopt_pool.fn[1], __ATOMIC_RELAXED) != NULL;
    Py_ssize_t count = adamopt_run_phase(job, self, nthreads, 0);
    if (!two_phases)
        return count;
    /* A thread may wait here only for chunks of phase 0 that another thread
     * claimed: the job cannot end (and change) before phase 1 is done, or,
     * stopped, before phase 0 is. */
    if (!adamopt_wait_phase(job, self, 0, nchunks, adamopt_now_ns()))
        return count;
    if (__atomic_load_n(&adamopt_pool.stopped, __ATOMIC_ACQUIRE) == job)
        return count;
    return count + adamopt_run_phase(job, self, nthreads, 1);
}

/* A worker woken on the caller's CPU (the kernel's wake-up placement likes
 * to put a wakee next to its waker) would only take turns with the caller on
 * that core.  Move it to another CPU it may use: exclude the caller's CPU
 * from its affinity mask, which migrates it at once, then restore the mask
 * (Linux only; the kernel does not move it back by itself). */
static void adamopt_leave_caller_cpu(void) {
#if defined(__linux__) && defined(CPU_SET)
    int caller = __atomic_load_n(&adamopt_pool.caller_cpu, __ATOMIC_RELAXED);
    if (caller < 0 || caller >= CPU_SETSIZE || sched_getcpu() != caller)
        return;
    cpu_set_t mask, others;
    if (sched_getaffinity(0, sizeof(mask), &mask) != 0)
        return;
    others = mask;
    CPU_CLR(caller, &others);
    if (CPU_COUNT(&others) == 0)
        return;
    if (sched_setaffinity(0, sizeof(others), &others) == 0)
        sched_setaffinity(0, sizeof(mask), &mask);
#endif
}

static void *adamopt_worker(void *arg) {
    int self = (int)(size_t)arg;
    unsigned long long seen = adamopt_pool.worker_seen[self];
    for (;;) {
        unsigned long long posted = __atomic_load_n(&adamopt_pool.posted, __ATOMIC_SEQ_CST);
        if (posted == seen) {
            long long deadline = adamopt_now_ns() + ADAMOPT_SPIN_NS;
            int k = 0;
            while ((posted = __atomic_load_n(&adamopt_pool.posted, __ATOMIC_ACQUIRE)) == seen) {
                adamopt_cpu_relax();
                if (++k % 64 == 0 && adamopt_now_ns() > deadline)
                    break;
            }
        }
        if (posted == seen) {
            pthread_mutex_lock(&adamopt_pool.lock);
            __atomic_add_fetch(&adamopt_pool.sleepers, 1, __ATOMIC_SEQ_CST);
            adamopt_pool.worker_sleeps++;
            while ((posted = __atomic_load_n(&adamopt_pool.posted, __ATOMIC_SEQ_CST)) == seen)
                pthread_cond_wait(&adamopt_pool.wake, &adamopt_pool.lock);
            __atomic_sub_fetch(&adamopt_pool.sleepers, 1, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&adamopt_pool.lock);
            adamopt_leave_caller_cpu();
        }
        seen = posted;
        (void)adamopt_pool_work(seen, self);
    }
    return NULL;
}

/* In the child of a fork only the forking thread exists: forget the
 * workers (new ones start on demand) and reset the locks, which a thread of
 * the parent may have held at the fork. */
static void adamopt_pool_after_fork_in_child(void) {
    pthread_mutex_init(&adamopt_pool.submit, NULL);
    pthread_mutex_init(&adamopt_pool.lock, NULL);
    pthread_cond_init(&adamopt_pool.wake, NULL);
    pthread_cond_init(&adamopt_pool.finished, NULL);
    adamopt_pool.nworkers = 0;
    adamopt_pool.sleepers = 0;
    adamopt_pool.caller_sleeps = 0;
    adamopt_pool.skip = 0;
    adamopt_pool.backoff = 1;
    adamopt_pool.awake_jobs = 0;
    adamopt_pool.woken_jobs = 0;
}

/* Start workers until there are `want` (called with `submit` held). */
static void adamopt_pool_grow(int want) {
    static int fork_handler;
    if (!fork_handler && want > 0)
        fork_handler = pthread_atfork(NULL, NULL, adamopt_pool_after_fork_in_child) == 0;
    while (adamopt_pool.nworkers < want) {
        pthread_t tid;
        pthread_attr_t attr;
        int self = adamopt_pool.nworkers + 1;
        adamopt_pool.worker_seen[self] = adamopt_pool.posted;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 1 << 16);
        int err = pthread_create(&tid, &attr, adamopt_worker, (void *)(size_t)self);
        pthread_attr_destroy(&attr);
        if (err)
            return;   /* fewer workers: the caller steals their share */
        adamopt_pool.nworkers++;
    }
}

/* Run fn0 over [0, n), then (unless *stop became nonzero) fn1 over [0, n),
 * in chunks of `chunk`, on the calling thread and up to nthreads - 1 workers:
 * every chunk of fn0 is done before any chunk of fn1 starts.  fn1 may be
 * NULL, and stop too.  Returns when every chunk is done.  Only jobs with
 * `judge` set count for the back-off (the benchmarks' probe does not). */
static void adamopt_parallel_for2(adamopt_chunk_fn fn0, adamopt_chunk_fn fn1, void *ctx,
                                  const int *stop, Py_ssize_t n, Py_ssize_t chunk,
                                  int nthreads, int judge) {
    if (nthreads > ADAMOPT_MAX_THREADS)
        nthreads = ADAMOPT_MAX_THREADS;
    int serial = nthreads <= 1 || chunk <= 0 || n <= chunk
                 || pthread_mutex_trylock(&adamopt_pool.submit) != 0;
#ifdef ADAMOPT_NO_BACKOFF   /* for measuring the hand-off: CFLAGS=-DADAMOPT_NO_BACKOFF */
    adamopt_pool.skip = 0;
#endif
    if (!serial && judge && adamopt_pool.skip > 0
            && (n > 2 * adamopt_pool.backoff_n || 2 * n < adamopt_pool.backoff_n)) {
        /* A back-off judged on jobs of another size does not apply: at a few
         * thousand elements the hand-off alone can cost the 10 %, and a long
         * back-off learned there would keep a following large job (where
         * threads pay) on one thread for up to 4096 steps. */
        adamopt_pool.skip = 0;
        adamopt_pool.backoff = 1;
    }
    if (!serial && judge && adamopt_pool.skip > 0) {   /* backing off: see below */
        adamopt_pool.skip--;
        adamopt_pool.jobs_backed_off++;
        pthread_mutex_unlock(&adamopt_pool.submit);
        serial = 1;
    }
    if (serial) {
        fn0(ctx, 0, n);
        if (fn1 != NULL && !(stop != NULL && *stop))
            fn1(ctx, 0, n);
        return;
    }
    adamopt_pool_grow(nthreads - 1);
    if (nthreads > adamopt_pool.nworkers + 1)
        nthreads = adamopt_pool.nworkers + 1;
    Py_ssize_t nchunks = (n + chunk - 1) / chunk;
    if (nchunks > ADAMOPT_MAX_CHUNKS) {
        chunk = (n + ADAMOPT_MAX_CHUNKS - 1) / ADAMOPT_MAX_CHUNKS;
        nchunks = (n + chunk - 1) / chunk;
    }
    adamopt_pool.jobs_parallel++;
    unsigned long long job = adamopt_pool.posted + 1;   /* only the caller writes it */
    adamopt_pool.fn[0] = fn0;
    __atomic_store_n(&adamopt_pool.fn[1], fn1, __ATOMIC_RELAXED);   /* see adamopt_pool_work */
    adamopt_pool.ctx = ctx;
    adamopt_pool.stop = stop;
    adamopt_pool.n = n;
    adamopt_pool.chunk = chunk;
    __atomic_store_n(&adamopt_pool.nchunks, nchunks, __ATOMIC_RELAXED);
    __atomic_store_n(&adamopt_pool.done[0], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&adamopt_pool.done[1], 0, __ATOMIC_RELAXED);
#if defined(__linux__) && defined(CPU_SET)
    __atomic_store_n(&adamopt_pool.caller_cpu, sched_getcpu(), __ATOMIC_RELAXED);
#endif
    __atomic_store_n(&adamopt_pool.nthreads, nthreads, __ATOMIC_RELEASE);
    for (int phase = 0; phase < 2; phase++) {
        for (int t = 0; t < nthreads; t++) {
            unsigned long long lo = (unsigned long long)(nchunks * t / nthreads);
            unsigned long long hi = (unsigned long long)(nchunks * (t + 1) / nthreads);
            if (phase == 1 && fn1 == NULL)
                lo = hi;
            __atomic_store_n(&adamopt_pool.homes[phase][t].word,
                             (ADAMOPT_GEN(job) << ADAMOPT_GEN_SHIFT)
                             | (lo << ADAMOPT_LO_SHIFT) | hi,
                             __ATOMIC_RELEASE);
        }
    }
    __atomic_store_n(&adamopt_pool.posted, job, __ATOMIC_SEQ_CST);
    int woke = __atomic_load_n(&adamopt_pool.sleepers, __ATOMIC_SEQ_CST) > 0;
    if (woke) {
        pthread_mutex_lock(&adamopt_pool.lock);
        pthread_cond_broadcast(&adamopt_pool.wake);
        pthread_mutex_unlock(&adamopt_pool.lock);
    }
    long long t0 = adamopt_now_ns();
    Py_ssize_t mine = adamopt_pool_work(job, 0);
    long long t1 = adamopt_now_ns();
    /* Wait for the chunks that workers claimed; every chunk of the last
     * phase run is claimed by now.  With two phases, adamopt_pool_work has
     * waited for phase 0, so `stopped` is final for this job. */
    int last = (fn1 == NULL
                || __atomic_load_n(&adamopt_pool.stopped, __ATOMIC_ACQUIRE) == job) ? 0 : 1;
    adamopt_wait_phase(job, 0, last, nchunks, t1);
    if (fn1 != NULL && last == 0) {
        /* Stopped after phase 0: empty phase 1's homes before returning.  A
         * worker descheduled before its check of `stopped` could otherwise
         * wake once this job is over, read a later job's `stopped` and claim
         * one of these chunks: phase 1 with a dead context. */
        for (int t = 0; t < nthreads; t++)
            __atomic_store_n(&adamopt_pool.homes[1][t].word,
                             ADAMOPT_GEN(job) << ADAMOPT_GEN_SHIFT, __ATOMIC_RELEASE);
    }
    /* When the other cores are busy, the workers get little time, and one
     * descheduled in the middle of a chunk makes the caller wait.  The job
     * took t2 - t0; on this thread alone it would have taken about
     * (t1 - t0) * chunks / mine.  If threads saved less than 10 %, run the
     * next `backoff` jobs on this thread only, doubling `backoff` (up to 4096
     * jobs) while that goes on; a job that gains resets it.
     *
     * A job that had to wake a sleeping worker, and the three after it, are
     * not judged: the wake-up, and the move of the worker's share of the
     * arrays into its core's cache, take a while even on an idle machine,
     * and later steps find the worker awake.  Unless every job wakes it:
     * when the caller does other work between steps for longer than the
     * workers spin (0.1 ms), each step pays for a wake-up, and from the
     * fourth such job in a row, jobs are judged again. */
    long long t2 = adamopt_now_ns();
    Py_ssize_t chunks = nchunks * (last + 1);
    adamopt_pool.awake_jobs = woke ? 0 : adamopt_pool.awake_jobs + 1;
    adamopt_pool.woken_jobs = woke ? adamopt_pool.woken_jobs + 1 : 0;
    if (!judge || (adamopt_pool.awake_jobs < 4 && adamopt_pool.woken_jobs < 4)) {
        /* keep the back-off as it is */
    } else if (mine > 0 && (double)(t2 - t0) * (double)mine
                           > 0.9 * (double)(t1 - t0) * (double)chunks) {
        if (adamopt_pool.backoff < 1)
            adamopt_pool.backoff = 1;
        adamopt_pool.skip = adamopt_pool.backoff;
        adamopt_pool.backoff_n = n;
        if (adamopt_pool.backoff < 4096)
            adamopt_pool.backoff *= 2;
    } else {
        adamopt_pool.backoff = 1;
    }
    pthread_mutex_unlock(&adamopt_pool.submit);
}

/* Jobs run on several threads, jobs run on the caller's alone to back off
 * from busy cores, and times a worker went to sleep, since the process
 * started. */
static void adamopt_pool_stats(long long *parallel, long long *backed_off, long long *sleeps) {
    *parallel = adamopt_pool.jobs_parallel;
    *backed_off = adamopt_pool.jobs_backed_off;
    *sleeps = adamopt_pool.worker_sleeps;
}

static inline void adamopt_flag_set(int *flag) {
    __atomic_store_n(flag, 1, __ATOMIC_RELAXED);
}

#else   /* no pool: run every job on the calling thread */
#define ADAMOPT_HAVE_POOL 0
static void adamopt_parallel_for2(adamopt_chunk_fn fn0, adamopt_chunk_fn fn1, void *ctx,
                                  const int *stop, Py_ssize_t n, Py_ssize_t chunk,
                                  int nthreads, int judge) {
    (void)chunk;
    (void)nthreads;
    (void)judge;
    fn0(ctx, 0, n);
    if (fn1 != NULL && !(stop != NULL && *stop))
        fn1(ctx, 0, n);
}

static void adamopt_pool_stats(long long *parallel, long long *backed_off, long long *sleeps) {
    *parallel = 0;
    *backed_off = 0;
    *sleeps = 0;
}

static void adamopt_flag_set(int *flag) { *flag = 1; }
#endif

/* CPU features of the compiled variants (x86 with GCC or Clang; the
 * baseline needs none).  __builtin_cpu_supports also checks that the OS
 * saves the AVX registers. */
static int adamopt_cpu_has_avx2_fma(void) {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#endif   /* ADAMOPT_POOL_H */
