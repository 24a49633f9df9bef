// C++ threads: std::thread, std::async, std::mutex, std::condition_variable,
// thread_local, std::atomic. Prints deterministic facts; exits 1 when wrong.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

static thread_local int local_value = 3;

int main()
{
    std::mutex lock;
    long total = 0;
    std::atomic<long> atomic_total{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; t++)
        threads.emplace_back([&, t] {
            local_value = t;
            for (int i = 0; i < 10000; i++) {
                std::lock_guard<std::mutex> guard(lock);
                total++;
                atomic_total++;
            }
            if (local_value != t)
                total = -1000000;
        });
    for (auto &thread : threads)
        thread.join();
    std::printf("mutex total %ld, atomic total %ld, main's thread_local %d\n", total,
                atomic_total.load(), local_value);

    std::vector<std::future<long>> futures;
    for (long n = 1; n <= 8; n++)
        futures.push_back(std::async(std::launch::async, [n] {
            long sum = 0;
            for (long k = 1; k <= n * 1000; k++)
                sum += k;
            return sum;
        }));
    long sum = 0;
    for (auto &future : futures)
        sum += future.get();
    std::printf("async sum %ld\n", sum);

    std::condition_variable ready;
    bool go = false;
    int woken = 0;
    std::vector<std::thread> waiters;
    for (int i = 0; i < 4; i++)
        waiters.emplace_back([&] {
            std::unique_lock<std::mutex> guard(lock);
            ready.wait(guard, [&] { return go; });
            woken++;
        });
    {
        std::lock_guard<std::mutex> guard(lock);
        go = true;
    }
    ready.notify_all();
    for (auto &waiter : waiters)
        waiter.join();
    std::printf("condition variable woke %d\n", woken);
    bool ok = total == 60000 && atomic_total == 60000 && local_value == 3 && woken == 4;
    return ok ? 0 : 1;
}
