import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

public class Contention {
    static final Object monitor = new Object();
    static final ReentrantLock lock = new ReentrantLock();
    static volatile long sink;

    static void holdMonitor() {
        synchronized (monitor) {
            long end = System.nanoTime() + 15_000_000L;
            while (System.nanoTime() < end) { sink++; }
        }
    }

    static void holdLock() {
        lock.lock();
        try {
            long end = System.nanoTime() + 15_000_000L;
            while (System.nanoTime() < end) { sink++; }
        } finally {
            lock.unlock();
        }
    }

    static void park() { LockSupport.parkNanos(20_000_000L); }

    public static void main(String[] args) throws Exception {
        long until = System.currentTimeMillis() + 2500;
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            final int id = t;
            threads[t] = new Thread(() -> {
                while (System.currentTimeMillis() < until) {
                    if (id % 2 == 0) holdMonitor(); else holdLock();
                    park();
                    sink += new byte[1024 * (id + 1)].length;
                }
            }, "worker-" + t);
            threads[t].start();
        }
        for (Thread t : threads) t.join();
    }
}
