using System.Runtime.InteropServices;

namespace Pyroscope.Testing;

/// <summary>Signals to child processes (Linux numbers): a graceful stop, or freezing a process to simulate a hang or an outage.</summary>
internal static class Posix
{
    public const int SigTerm = 15;
    public const int SigStop = 19;
    public const int SigCont = 18;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);

    /// <summary>Sends <paramref name="signal"/>; throws naming the errno when it cannot be sent.</summary>
    public static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"signal {signal} to process {pid} failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>
    /// SIGSTOP, then waits until every thread of the process has stopped: the signal takes effect in each thread
    /// only when that thread is next scheduled, so on a busy machine a "frozen" process can still answer a request
    /// sent right after kill(2) returned.
    /// </summary>
    public static void Freeze(int pid)
    {
        Send(pid, SigStop);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!AllThreadsStopped(pid))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"process {pid} did not stop within 30s of SIGSTOP");
            }
            Thread.Sleep(1);
        }
    }

    private static bool AllThreadsStopped(int pid)
    {
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                // The state follows the parenthesised command name, which may itself contain spaces or parentheses.
                var state = stat[stat.LastIndexOf(')') + 2];
                if (state is not ('T' or 't' or 'Z' or 'X'))
                {
                    return false;
                }
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A thread ended while listing: look again.
            return false;
        }
    }
}
