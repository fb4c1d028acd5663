// A small persistent thread pool: parallel_for(n, fn) runs fn(i) for i in [0, n) on the pool's
// threads plus the caller. Work items are handed out dynamically, so callers must make every item
// write its own outputs (results then do not depend on which thread ran what).
//
// A training step makes thousands of parallel_for calls a few microseconds to milliseconds of JS
// apart. Waking a sleeping worker (and the caller, at the end) through a condition variable costs
// tens of microseconds on a VM, and far more when the hypervisor gave the idle vCPU's core to
// another guest meanwhile, so both sides first spin (RTKD_NATIVE_SPIN_US, default 50 ms; 0 = sleep
// at once) before they block, as OpenMP runtimes do (Intel's blocks after 200 ms).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace rtkd {

class ThreadPool {
 public:
  explicit ThreadPool(int threads) : spin_(spin_from_env()) { resize(threads); }
  ~ThreadPool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    stop();
    quit_.store(false);
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { loop(); });
  }

  void parallel_for(long n, const std::function<void(long)>& fn) {
    if (n <= 0) return;
    if (workers_.empty() || n == 1) {
      for (long i = 0; i < n; ++i) fn(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = &fn;
      n_ = n;
      next_.store(0, std::memory_order_relaxed);
      active_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    drain();
    if (!spin_until([this] { return active_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [this] { return active_.load(std::memory_order_acquire) == 0; });
    }
    fn_ = nullptr;
  }

 private:
  static std::chrono::microseconds spin_from_env() {
    const char* value = std::getenv("RTKD_NATIVE_SPIN_US");
    const long us = value ? std::strtol(value, nullptr, 10) : 50000;
    return std::chrono::microseconds(us < 0 ? 0 : us);
  }

  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
  }

  // Polls `ready` for up to spin_; true as soon as it holds. Every 64 polls the thread also yields:
  // with nothing else runnable the yield returns at once and the core stays ours, with another
  // process's threads waiting (two trainings on one machine) they get the core.
  template <typename Ready>
  bool spin_until(Ready ready) const {
    if (ready()) return true;
    if (spin_.count() == 0) return false;
    const auto until = std::chrono::steady_clock::now() + spin_;
    for (int i = 1;; ++i) {
      relax();
      if (ready()) return true;
      if ((i & 63) == 0) {
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::yield();
      }
    }
  }

  void drain() {
    for (long i = next_.fetch_add(1); i < n_; i = next_.fetch_add(1)) (*fn_)(i);
  }

  void loop() {
    long seen = 0;
    for (;;) {
      const auto fresh = [&] { return quit_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen; };
      if (!spin_until(fresh)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, fresh);
      }
      if (quit_.load(std::memory_order_acquire)) return;
      {
        // fn_ and n_ were written under the mutex before the generation moved on.
        std::lock_guard<std::mutex> lock(mutex_);
        seen = generation_.load(std::memory_order_relaxed);
      }
      drain();
      if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  const std::chrono::microseconds spin_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(long)>* fn_ = nullptr;
  long n_ = 0;
  std::atomic<long> next_{0};
  std::atomic<int> active_{0};
  std::atomic<long> generation_{0};
  std::atomic<bool> quit_{false};
};

ThreadPool& pool();

}  // namespace rtkd
