// Placeholder until the composition host lands; replaced by the foundation work.
namespace Pyroscope.Ingester;

public static class Program
{
    public static int Main() => 0;
}
