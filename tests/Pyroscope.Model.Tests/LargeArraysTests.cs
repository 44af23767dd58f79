using System.IO.Compression;
using System.Runtime.InteropServices;
using Pyroscope.Model.Buffers;

namespace Pyroscope.Model.Tests;

/// <summary>
/// Arrays above the shared pool's size are kept between requests within a process budget, exactly as long as they
/// were rented, and given back to the GC when idle. Each test uses an element type of its own: the pool is per type.
/// </summary>
public sealed class LargeArraysTests
{
    private const int Length = 3 * 1024 * 1024 / 16;

    [StructLayout(LayoutKind.Sequential, Size = 16)]
    private struct SixteenBytes;

    [StructLayout(LayoutKind.Sequential, Size = 16)]
    private struct AlsoSixteenBytes;

    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private struct SixtyFourBytes;

    private sealed record Holder(string Name);

    [Fact]
    public void A_returned_array_is_rented_again_for_a_length_it_fits_at_most_twice_over()
    {
        var first = BoundedArrayPool<SixteenBytes>.Rent(Length);
        Assert.Equal(Length, first.Length); // exactly as asked: a bound on a request stays a bound
        BoundedArrayPool<SixteenBytes>.Return(first);
        Assert.Same(first, BoundedArrayPool<SixteenBytes>.Rent(Length - 1000));
        BoundedArrayPool<SixteenBytes>.Return(first);

        // Less than half of it: a new array of that length, and the kept one stays for a request it fits.
        var small = BoundedArrayPool<SixteenBytes>.Rent(Length / 2 - 1);
        Assert.NotSame(first, small);
        Assert.Equal(Length / 2 - 1, small.Length);
        Assert.Same(first, BoundedArrayPool<SixteenBytes>.Rent(Length));
    }

    [Fact]
    public void An_array_larger_than_the_whole_budget_is_not_kept()
    {
        var huge = GC.AllocateUninitializedArray<SixtyFourBytes>((int)(LargeArrays.BudgetBytes / 64) + 1);
        LargeArrays<SixtyFourBytes>.Return(huge);
        Assert.True(LargeArrays.KeptBytes <= LargeArrays.BudgetBytes, $"{LargeArrays.KeptBytes} kept");
        Assert.NotSame(huge, LargeArrays<SixtyFourBytes>.Rent(huge.Length));
    }

    [Fact]
    public void Arrays_left_unused_are_given_back_to_the_GC()
    {
        var array = BoundedArrayPool<AlsoSixteenBytes>.Rent(Length);
        BoundedArrayPool<AlsoSixteenBytes>.Return(array);
        LargeArrays<AlsoSixteenBytes>.DropIdle(Environment.TickCount64 + (long)LargeArrays.IdleBeforeDrop.TotalMilliseconds, (long)LargeArrays.IdleBeforeDrop.TotalMilliseconds);
        Assert.NotSame(array, BoundedArrayPool<AlsoSixteenBytes>.Rent(Length));
    }

    [Fact]
    public void Arrays_holding_references_are_never_kept()
    {
        var array = BoundedArrayPool<Holder>.Rent(PooledBytes.MaxPooledLength);
        array[0] = new Holder("kept alive by a pool?");
        BoundedArrayPool<Holder>.Return(array);
        Assert.NotSame(array, BoundedArrayPool<Holder>.Rent(PooledBytes.MaxPooledLength));
    }

    [Fact]
    public void Gunzip_sizes_its_buffer_from_the_trailer_and_a_forged_trailer_changes_nothing_but_room()
    {
        var raw = new byte[5 * 1024 * 1024];
        new Random(7).NextBytes(raw.AsSpan(0, raw.Length / 2)); // half noise, half zeros: not all of it compresses
        var gzip = Gzip(raw);

        using (var read = PooledBytes.ReadExpected(new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress), long.MaxValue, raw.Length))
        {
            Assert.True(read.Span.SequenceEqual(raw));
            Assert.Equal(raw.Length + 1, read.Array.Length); // one buffer, one byte to spare to see the end
        }
        // A trailer that claims too little: the buffer grows as without one.
        using (var read = PooledBytes.ReadExpected(new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress), long.MaxValue, 100))
        {
            Assert.True(read.Span.SequenceEqual(raw));
        }
        // A trailer that claims more than the cap: the cap still holds, one byte past it.
        Assert.Throws<PooledBytes.LimitExceededException>(() =>
            PooledBytes.ReadExpected(new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress), raw.Length - 1, long.MaxValue));
    }

    private static byte[] Gzip(byte[] raw)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(raw);
        }
        return output.ToArray();
    }
}
