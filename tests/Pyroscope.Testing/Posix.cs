namespace Pyroscope.Testing;

/// <summary>Signals to child processes (Linux numbers): a graceful stop, or freezing a server to simulate an outage.</summary>
internal static class Posix
{
    public const int SigTerm = 15;
    public const int SigStop = 19;
    public const int SigCont = 18;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);
}
