// Placeholder until the composition host lands; replaced by the foundation work.
namespace Pyroscope.Querier;

public static class Program
{
    public static int Main() => 0;
}
