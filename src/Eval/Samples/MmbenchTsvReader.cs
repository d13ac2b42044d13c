using System.Globalization;
using MultiLora.Data.Model;

namespace MultiLora.Eval.Samples;

/// <summary>
/// MMBench TSV (index, question, hint, A..E, answer, category, l2-category, image base64).
/// Circular files hold each rotation as its own row, index + k*1e6; the group is index % 1e6.
/// A plain file with <c>circular</c> on gets its rotations generated here: round r shifts the options left
/// by r (as LLaVA's model_vqa_mmbench does) and gets id index + r*1e6, so both kinds group the same way.
/// In circular files a short numeric image field refers to the image of another row (VLMEvalKit's convention).
/// </summary>
public static class MmbenchTsvReader
{
    public const long CircularStride = 1_000_000;
    static readonly string[] Letters = ["A", "B", "C", "D", "E", "F", "G", "H"];

    public static IReadOnlyList<EvalSample> Read(string path, string split, bool circular)
    {
        var table = TsvTable.Read(path);
        var header = table.Header;
        foreach (var col in new[] { "index", "question", "answer" })
            if (!header.Contains(col)) throw new InvalidDataException($"{path}: missing column '{col}'");
        var optionCols = Letters.Where(header.Contains).ToList();

        var rows = new List<(long Index, string Question, string Hint, List<ChoiceOption> Options, string Answer, string? Cat, string? L2, string Image, int Row)>();
        var rowNo = 0;
        foreach (var fields in table.Rows)
        {
            rowNo++;
            string Col(string c) => Clean(table.Get(fields, c));
            var where = $"{path}#{rowNo}";
            if (!long.TryParse(Col("index").Trim(), out var index)) throw new InvalidDataException($"{where}: 'index' is not an integer");
            var options = optionCols.Select(c => new ChoiceOption(c, Col(c))).Where(o => o.Text.Length > 0).ToList();
            if (options.Count < 2) throw new InvalidDataException($"{where}: fewer than two options");
            var answer = Col("answer").Trim();
            if (!options.Any(o => o.Letter == answer)) throw new InvalidDataException($"{where}: answer '{answer}' is not one of the options");
            rows.Add((index, Col("question"), Col("hint"), options, answer,
                NullIfEmpty(Col("category")), NullIfEmpty(Col("l2-category")), Col("image"), rowNo));
        }

        var fileIsCircular = rows.Any(r => r.Index >= CircularStride);
        var images = rows.ToDictionary(r => r.Index, r => r.Image);
        var samples = new List<EvalSample>();
        foreach (var r in rows)
        {
            var where = $"{path}#{r.Row}";
            var image = ImageOf(r.Image, images, where);
            if (fileIsCircular || !circular)
            {
                samples.Add(Make(r.Index, r.Index % CircularStride, r.Question, r.Hint, r.Options, r.Answer, r.Cat, r.L2, image, split, where));
                continue;
            }
            var k = r.Options.Count;
            var answerPos = r.Options.FindIndex(o => o.Letter == r.Answer);
            for (var round = 0; round < k; round++)
            {
                var rotated = Enumerable.Range(0, k).Select(j => new ChoiceOption(Letters[j], r.Options[(j + round) % k].Text)).ToList();
                var answer = Letters[(answerPos - round + k) % k];
                samples.Add(Make(r.Index + round * CircularStride, r.Index, r.Question, r.Hint, rotated, answer, r.Cat, r.L2, image, split, where));
            }
        }
        return samples;
    }

    static EvalSample Make(long id, long group, string q, string hint, List<ChoiceOption> options, string answer, string? cat, string? l2, ImageSource? image, string split, string origin) =>
        new(id.ToString(CultureInfo.InvariantCulture), q, image, answer, Split: split, Group: group.ToString(CultureInfo.InvariantCulture),
            Category: cat, Category2: l2, Hint: hint, Options: options, Origin: origin);

    static ImageSource? ImageOf(string field, Dictionary<long, string> images, string where)
    {
        if (field.Length == 0) return null;
        if (field.Length <= 64 && long.TryParse(field, out var refIndex))
            field = images.TryGetValue(refIndex, out var target) ? target : throw new InvalidDataException($"{where}: image refers to missing index {refIndex}");
        try { return ImageSource.FromBytes(Convert.FromBase64String(field)); }
        catch (FormatException) { throw new InvalidDataException($"{where}: image column is not valid base64"); }
    }

    /// <summary>
    /// Cells pandas.read_table reads as missing, which VLMEvalKit then leaves out of the choices; other cells are kept
    /// exactly, spaces included, as pandas keeps them.
    /// </summary>
    static string Clean(string? v) => v is null || PandasNa.Values.Contains(v) ? "" : v;

    static string? NullIfEmpty(string v) => v.Length == 0 ? null : v;
}
