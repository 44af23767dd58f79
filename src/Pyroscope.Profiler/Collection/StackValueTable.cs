namespace Pyroscope.Profiler.Collection;

/// <summary>
/// Values summed per interned call stack, stored columnar so a sample costs one dictionary
/// lookup and no allocation. Column 0 and 1 mean cpu/wall or bytes/count, depending on the owner.
/// </summary>
internal sealed class StackValueTable
{
    private readonly Dictionary<int, int> _rowByStack = new();
    private int[] _stacks = new int[256];
    private long[] _first = new long[256];
    private long[] _second = new long[256];

    public int Count { get; private set; }

    public void Add(int stackIndex, long first, long second)
    {
        if (!_rowByStack.TryGetValue(stackIndex, out var row))
        {
            row = Count++;
            if (row == _stacks.Length)
            {
                Array.Resize(ref _stacks, row * 2);
                Array.Resize(ref _first, row * 2);
                Array.Resize(ref _second, row * 2);
            }
            _stacks[row] = stackIndex;
            _first[row] = 0;
            _second[row] = 0;
            _rowByStack.Add(stackIndex, row);
        }
        _first[row] += first;
        _second[row] += second;
    }

    public int StackAt(int row) => _stacks[row];

    public long FirstAt(int row) => _first[row];

    public long SecondAt(int row) => _second[row];

    public void Clear()
    {
        _rowByStack.Clear();
        Count = 0;
    }
}
