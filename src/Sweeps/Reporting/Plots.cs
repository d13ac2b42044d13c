using ScottPlot;

namespace MultiLora.Sweeps.Reporting;

/// <summary>The report's figures with ScottPlot, each saved as PNG next to the CSV of the numbers drawn.</summary>
public static class Plots
{
    const int Width = 900, Height = 520;
    static readonly IPalette Palette = new ScottPlot.Palettes.Category10();

    public static Color ColorOf(int index) => Palette.GetColor(index);

    /// <summary>One point per cell, one colour per group (method).</summary>
    public static void Scatter(string path, string title, string xLabel, string yLabel, IEnumerable<(string Group, double X, double Y)> points)
    {
        var plot = new Plot();
        var groups = points.GroupBy(p => p.Group).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        for (int i = 0; i < groups.Count; i++)
        {
            var g = groups[i].ToList();
            var sp = plot.Add.ScatterPoints(g.Select(p => p.X).ToArray(), g.Select(p => p.Y).ToArray());
            sp.Color = ColorOf(i);
            sp.MarkerSize = 10;
            sp.LegendText = groups[i].Key;
        }
        Finish(plot, path, title, xLabel, yLabel, legend: groups.Count > 0);
    }

    /// <summary>Grouped bars: one cluster per category, one coloured bar per series.</summary>
    public static void GroupedBars(string path, string title, string yLabel, IReadOnlyList<string> categories, IReadOnlyList<string> series,
        Func<string, string, double?> value)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        double width = 0.8 / Math.Max(1, series.Count);
        for (int c = 0; c < categories.Count; c++)
            for (int s = 0; s < series.Count; s++)
                if (value(categories[c], series[s]) is { } v)
                    bars.Add(new Bar { Position = c + (s - (series.Count - 1) / 2.0) * width, Value = v, Size = width * 0.95, FillColor = ColorOf(s) });
        plot.Add.Bars(bars);
        for (int s = 0; s < series.Count; s++) plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[s], FillColor = ColorOf(s) });
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, categories.Count).Select(i => (double)i).ToArray(), categories.ToArray());
        plot.Axes.Margins(bottom: 0);
        Finish(plot, path, title, null, yLabel, legend: series.Count > 0);
    }

    /// <summary>One bar per pair (its label under it), with a zero line: an axis' effect as deltas.</summary>
    public static void Deltas(string path, string title, string yLabel, IReadOnlyList<(string Label, double Delta, string Group)> pairs, IReadOnlyList<string> groups)
    {
        var plot = new Plot();
        var bars = pairs.Select((p, i) => new Bar { Position = i, Value = p.Delta, FillColor = ColorOf(Math.Max(0, IndexOf(groups, p.Group))) }).ToList();
        plot.Add.Bars(bars);
        plot.Add.HorizontalLine(0, 1, Colors.Black);
        for (int g = 0; g < groups.Count; g++) plot.Legend.ManualItems.Add(new LegendItem { LabelText = groups[g], FillColor = ColorOf(g) });
        // one line per axis value under each bar: long labels side by side would overlap
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, pairs.Count).Select(i => (double)i).ToArray(), pairs.Select(p => p.Label.Replace(' ', '\n')).ToArray());
        Finish(plot, path, title, null, yLabel, legend: groups.Count > 1, height: Height + 60);
    }

    /// <summary>A line per series (training loss per cell).</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<(string Label, double[] X, double[] Y)> lines)
    {
        var plot = new Plot();
        for (int i = 0; i < lines.Count; i++)
        {
            if (lines[i].X.Length == 0) continue;
            var sl = plot.Add.ScatterLine(lines[i].X, lines[i].Y);
            // ten colours, then the same ten dashed, then dotted: distinguishable up to 30 cells
            sl.Color = ColorOf(i % 10).WithAlpha(0.85);
            sl.LinePattern = (i / 10) switch { 0 => LinePattern.Solid, 1 => LinePattern.Dashed, _ => LinePattern.Dotted };
            sl.LineWidth = 1.5f;
            sl.MarkerSize = 0;
            sl.LegendText = lines[i].Label;
        }
        Finish(plot, path, title, xLabel, yLabel, legend: lines.Count > 0, height: Height + 80, width: Width + 200);
    }

    static int IndexOf(IReadOnlyList<string> list, string item)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == item) return i;
        return -1;
    }

    static void Finish(Plot plot, string path, string title, string? xLabel, string yLabel, bool legend, int height = Height, int width = Width)
    {
        plot.Title(title);
        if (xLabel is not null) plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (legend) plot.ShowLegend(Edge.Right);
        plot.SavePng(path, width, height);
    }
}
