using System.Globalization;
using System.Text;

namespace Pyroscope.LoadTest.Report;

/// <summary>A Markdown table built row by row.</summary>
public sealed class MarkdownTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", headers).AppendLine(" |");
        text.Append('|').Append(string.Concat(Enumerable.Repeat("---|", headers.Length))).AppendLine();
        foreach (var row in _rows)
        {
            text.Append("| ").AppendJoin(" | ", row).AppendLine(" |");
        }
        return text.ToString();
    }
}

/// <summary>Numbers as the tables print them: medians with the spread of the rounds.</summary>
public static class Figures
{
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary><c>median (min–max)</c>, or just the value for one round.</summary>
    public static string Spread(IReadOnlyList<double> values, string format)
    {
        if (values.Count == 1)
        {
            return Num(values[0], format);
        }
        return $"{Num(Median(values), format)} ({Num(values.Min(), format)}–{Num(values.Max(), format)})";
    }

    public static string Num(double value, string format) =>
        double.IsNaN(value) ? "–" : value.ToString(format, CultureInfo.InvariantCulture);

    public static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);

    public static string Kilobytes(double bytes) => double.IsNaN(bytes) ? "–" : (bytes / 1024).ToString("F0", CultureInfo.InvariantCulture) + " KB";
}
