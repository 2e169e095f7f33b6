/* A small persistent thread pool for adamopt's kernels, and CPU feature
 * detection for choosing a compiled variant at import time.
 *
 * Work is split into chunks that the calling thread and the workers claim
 * from one shared counter, so the caller never waits for a worker that has
 * not started: when the other cores are busy, the caller simply processes
 * every chunk itself, and waits only for chunks a worker has claimed and is
 * finishing.  Every chunk is an elementwise update of its own range, so the
 * result does not depend on who computes which chunk (bitwise identical to
 * one thread).
 *
 * Idle workers spin (with the `pause` hint) for at most ADAMOPT_SPIN_NS after
 * a job, so that back-to-back steps find them awake, then sleep on a condition
 * variable: an idle pool burns no core.
 *
 * POSIX threads and GCC/Clang atomics only; elsewhere (MSVC) every job runs
 * on the calling thread.
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

/* state = generation << 40 | lo << 20 | hi: the chunks [lo, hi) of the
 * current job are unclaimed.  The caller claims from the front (lo), the
 * workers from the back (hi), so that with two threads each one keeps
 * updating the same half of the arrays step after step (it stays in that
 * core's cache).  A claim is a compare-and-swap of the whole state: it
 * succeeds only while the job it read is current, and a job stays current
 * until every chunk claimed from it is done. */
#define ADAMOPT_GEN_SHIFT 40
#define ADAMOPT_LO_SHIFT 20
#define ADAMOPT_MAX_CHUNKS ((1 << 20) - 1)
#define ADAMOPT_FIELD(s, shift) ((Py_ssize_t)(((s) >> (shift)) & ADAMOPT_MAX_CHUNKS))

static struct {
    pthread_mutex_t submit;     /* one job at a time; others run serially */
    pthread_mutex_t lock;       /* with `wake`: sleeping workers */
    pthread_cond_t wake;
    pthread_cond_t finished;    /* with `lock`: a caller waiting for workers */
    int caller_sleeps;
    int skip, backoff;          /* contention back-off, see adamopt_parallel_for */
    int caller_cpu;             /* where the caller posted the current job */
    int awake_jobs;             /* consecutive jobs that woke no worker */
    long long jobs_parallel, jobs_backed_off;   /* statistics */
    int nworkers;               /* started so far */
    unsigned long long posted __attribute__((aligned(64)));  /* watched by idle workers */
    int sleepers;
    /* each on a cache line of its own: written by every thread */
    unsigned long long state __attribute__((aligned(64)));   /* see above */
    Py_ssize_t done __attribute__((aligned(64)));  /* chunks finished in the current job */
    /* the current job, written before `state` publishes it */
    adamopt_chunk_fn fn __attribute__((aligned(64)));
    void *ctx;
    Py_ssize_t n, chunk;
} adamopt_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                  PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 1, -1, 0, 0, 0,
                  0, 0, 0, 0, 0, NULL, NULL, 0, 0};

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

/* Claim and run chunks of the current job, from the front or the back,
 * until none is left; return how many this thread ran. */
static Py_ssize_t adamopt_pool_work(int front) {
    Py_ssize_t count = 0;
    for (;;) {
        unsigned long long s = __atomic_load_n(&adamopt_pool.state, __ATOMIC_ACQUIRE);
        Py_ssize_t lo = ADAMOPT_FIELD(s, ADAMOPT_LO_SHIFT), hi = ADAMOPT_FIELD(s, 0);
        if (lo >= hi)
            return count;
        Py_ssize_t idx = front ? lo : hi - 1;
        unsigned long long next = front ? s + (1ULL << ADAMOPT_LO_SHIFT) : s - 1;
        if (!__atomic_compare_exchange_n(&adamopt_pool.state, &s, next, 0,
                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue;
        /* The job cannot change while one of its chunks is unfinished. */
        Py_ssize_t begin = idx * adamopt_pool.chunk;
        Py_ssize_t end = begin + adamopt_pool.chunk;
        if (end > adamopt_pool.n)
            end = adamopt_pool.n;
        adamopt_pool.fn(adamopt_pool.ctx, begin, end);
        count++;
        __atomic_add_fetch(&adamopt_pool.done, 1, __ATOMIC_SEQ_CST);
        if (!front && __atomic_load_n(&adamopt_pool.caller_sleeps, __ATOMIC_SEQ_CST)) {
            pthread_mutex_lock(&adamopt_pool.lock);
            pthread_cond_signal(&adamopt_pool.finished);
            pthread_mutex_unlock(&adamopt_pool.lock);
        }
    }
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
    unsigned long long seen = (unsigned long long)(size_t)arg;
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
            while ((posted = __atomic_load_n(&adamopt_pool.posted, __ATOMIC_SEQ_CST)) == seen)
                pthread_cond_wait(&adamopt_pool.wake, &adamopt_pool.lock);
            __atomic_sub_fetch(&adamopt_pool.sleepers, 1, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&adamopt_pool.lock);
            adamopt_leave_caller_cpu();
        }
        seen = posted;
        (void)adamopt_pool_work(0);
    }
    return NULL;
}

/* Start workers until there are `want` (called with `submit` held). */
static void adamopt_pool_grow(int want) {
    while (adamopt_pool.nworkers < want) {
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 1 << 16);
        int err = pthread_create(&tid, &attr, adamopt_worker,
                                 (void *)(size_t)adamopt_pool.posted);
        pthread_attr_destroy(&attr);
        if (err)
            return;   /* fewer workers: the caller does their share */
        adamopt_pool.nworkers++;
    }
}

/* Run fn over [0, n) in chunks of `chunk`, on the calling thread and up to
 * nthreads - 1 workers.  Returns when every chunk has been processed. */
static void adamopt_parallel_for(adamopt_chunk_fn fn, void *ctx, Py_ssize_t n,
                                 Py_ssize_t chunk, int nthreads) {
    if (nthreads > ADAMOPT_MAX_THREADS)
        nthreads = ADAMOPT_MAX_THREADS;
    if (nthreads <= 1 || chunk <= 0 || n <= chunk
            || pthread_mutex_trylock(&adamopt_pool.submit) != 0) {
        fn(ctx, 0, n);
        return;
    }
    if (adamopt_pool.skip > 0) {   /* backing off: see below */
        adamopt_pool.skip--;
        adamopt_pool.jobs_backed_off++;
        pthread_mutex_unlock(&adamopt_pool.submit);
        fn(ctx, 0, n);
        return;
    }
    adamopt_pool_grow(nthreads - 1);
    Py_ssize_t nchunks = (n + chunk - 1) / chunk;
    if (nchunks > ADAMOPT_MAX_CHUNKS) {
        chunk = (n + ADAMOPT_MAX_CHUNKS - 1) / ADAMOPT_MAX_CHUNKS;
        nchunks = (n + chunk - 1) / chunk;
    }
    unsigned long long gen = (adamopt_pool.state >> ADAMOPT_GEN_SHIFT) + 1;
    adamopt_pool.fn = fn;
    adamopt_pool.ctx = ctx;
    adamopt_pool.n = n;
    adamopt_pool.chunk = chunk;
    adamopt_pool.done = 0;
#if defined(__linux__) && defined(CPU_SET)
    __atomic_store_n(&adamopt_pool.caller_cpu, sched_getcpu(), __ATOMIC_RELAXED);
#endif
    __atomic_store_n(&adamopt_pool.state,
                     (gen << ADAMOPT_GEN_SHIFT) | (unsigned long long)nchunks, __ATOMIC_RELEASE);
    __atomic_add_fetch(&adamopt_pool.posted, 1, __ATOMIC_SEQ_CST);
    int woke = __atomic_load_n(&adamopt_pool.sleepers, __ATOMIC_SEQ_CST) > 0;
    if (woke) {
        pthread_mutex_lock(&adamopt_pool.lock);
        pthread_cond_broadcast(&adamopt_pool.wake);
        pthread_mutex_unlock(&adamopt_pool.lock);
    }
    adamopt_pool.jobs_parallel++;
    long long t0 = adamopt_now_ns();
    Py_ssize_t mine = adamopt_pool_work(1);
    long long t1 = adamopt_now_ns();
    /* Wait for the chunks that workers claimed: spin briefly, then sleep,
     * which frees this core for a worker that was descheduled mid-chunk
     * (the kernel moves it here) when the other cores are busy. */
    if (__atomic_load_n(&adamopt_pool.done, __ATOMIC_ACQUIRE) < nchunks) {
        long long deadline = adamopt_now_ns() + ADAMOPT_WAIT_SPIN_NS;
        int k = 0;
        while (__atomic_load_n(&adamopt_pool.done, __ATOMIC_ACQUIRE) < nchunks) {
            adamopt_cpu_relax();
            if (++k % 16 == 0 && adamopt_now_ns() > deadline) {
                pthread_mutex_lock(&adamopt_pool.lock);
                __atomic_store_n(&adamopt_pool.caller_sleeps, 1, __ATOMIC_SEQ_CST);
                while (__atomic_load_n(&adamopt_pool.done, __ATOMIC_SEQ_CST) < nchunks)
                    pthread_cond_wait(&adamopt_pool.finished, &adamopt_pool.lock);
                __atomic_store_n(&adamopt_pool.caller_sleeps, 0, __ATOMIC_SEQ_CST);
                pthread_mutex_unlock(&adamopt_pool.lock);
            }
        }
    }
    /* When the other cores are busy, the workers get little time, and one
     * descheduled in the middle of a chunk makes the caller wait.  The job
     * took t2 - t0; on this thread alone it would have taken about
     * (t1 - t0) * nchunks / mine.  If threads saved less than 10 %, run the
     * next `backoff` jobs on this thread only, doubling `backoff` (up to 4096
     * jobs) while that goes on; a job that gains resets it.  A job that had
     * to wake a sleeping worker, and the three after it, are not judged:
     * the wake-up, and the move of the worker's share of the arrays into its
     * core's cache, take a while even on an idle machine. */
    long long t2 = adamopt_now_ns();
    adamopt_pool.awake_jobs = woke ? 0 : adamopt_pool.awake_jobs + 1;
    if (adamopt_pool.awake_jobs < 4) {
        /* keep the back-off as it is */
    } else if (mine > 0 && (double)(t2 - t0) * (double)mine > 0.9 * (double)(t1 - t0) * (double)nchunks) {
        adamopt_pool.skip = adamopt_pool.backoff;
        if (adamopt_pool.backoff < 4096)
            adamopt_pool.backoff *= 2;
    } else {
        adamopt_pool.backoff = 1;
    }
    pthread_mutex_unlock(&adamopt_pool.submit);
}

/* Jobs run on several threads, and jobs run on the caller's alone to back
 * off from busy cores, since the process started. */
static void adamopt_pool_stats(long long *parallel, long long *backed_off) {
    *parallel = adamopt_pool.jobs_parallel;
    *backed_off = adamopt_pool.jobs_backed_off;
}

static inline void adamopt_flag_set(int *flag) {
    __atomic_store_n(flag, 1, __ATOMIC_RELAXED);
}

#else   /* no pool: run every job on the calling thread */
#define ADAMOPT_HAVE_POOL 0
static void adamopt_parallel_for(adamopt_chunk_fn fn, void *ctx, Py_ssize_t n,
                                 Py_ssize_t chunk, int nthreads) {
    (void)chunk;
    (void)nthreads;
    fn(ctx, 0, n);
}

static void adamopt_flag_set(int *flag) { *flag = 1; }

static void adamopt_pool_stats(long long *parallel, long long *backed_off) {
    *parallel = 0;
    *backed_off = 0;
}
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
