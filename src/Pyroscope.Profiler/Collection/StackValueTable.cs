namespace Pyroscope.Profiler.Collection;

/// <summary>
/// Values summed per interned call stack and label (0: none), stored columnar so a sample costs one
/// dictionary lookup and no allocation. Column 0 and 1 mean cpu/wall, bytes/count or count/time,
/// depending on the owner.
/// </summary>
internal sealed class StackValueTable
{
    private readonly Dictionary<(int Stack, int Label), int> _rowByKey = new();
    private int[] _stacks;
    private int[] _labels;
    private long[] _first;
    private long[] _second;

    public StackValueTable(int capacity = 256)
    {
        _stacks = new int[capacity];
        _labels = new int[capacity];
        _first = new long[capacity];
        _second = new long[capacity];
    }

    public int Count { get; private set; }

    public void Add(int stackIndex, long first, long second) => Add(stackIndex, 0, first, second);

    public void Add(int stackIndex, int label, long first, long second)
    {
        if (!_rowByKey.TryGetValue((stackIndex, label), out var row))
        {
            row = Count++;
            if (row == _stacks.Length)
            {
                Array.Resize(ref _stacks, row * 2);
                Array.Resize(ref _labels, row * 2);
                Array.Resize(ref _first, row * 2);
                Array.Resize(ref _second, row * 2);
            }
            _stacks[row] = stackIndex;
            _labels[row] = label;
            _first[row] = 0;
            _second[row] = 0;
            _rowByKey.Add((stackIndex, label), row);
        }
        _first[row] += first;
        _second[row] += second;
    }

    public int StackAt(int row) => _stacks[row];

    public int LabelAt(int row) => _labels[row];

    public long FirstAt(int row) => _first[row];

    public long SecondAt(int row) => _second[row];

    public void Clear()
    {
        _rowByKey.Clear();
        Count = 0;
    }
}
