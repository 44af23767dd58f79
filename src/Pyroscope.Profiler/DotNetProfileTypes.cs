using Pyroscope.Model;

namespace Pyroscope.Profiler;

/// <summary>The profile types the .NET profiler and the .nettrace converter produce.</summary>
public static class DotNetProfileTypes
{
    public static readonly ProfileTypeId Cpu = new("process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds");
    public static readonly ProfileTypeId Wall = new("wall", "wall", "nanoseconds", "wall", "nanoseconds");
    public static readonly ProfileTypeId AllocSpace = new("memory", "alloc_space", "bytes", "space", "bytes");
    public static readonly ProfileTypeId AllocObjects = new("memory", "alloc_objects", "count", "space", "bytes");
}
