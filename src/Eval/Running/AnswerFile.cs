using System.Globalization;
using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Running;

/// <summary>
/// One line of an answer file as LLaVA's model_vqa*.py scripts write it: question_id, prompt, text, answer_id,
/// model_id, metadata (MMBench adds round_id, options, option_char). Only question_id and text are required.
/// </summary>
public sealed record AnswerRow(int Line, string QuestionId, string Text, string? Prompt);

public static class AnswerFile
{
    /// <summary>
    /// Reads every row; a "round_id" other than 0 (LLaVA's MMBench --all-rounds) maps to the rotation id
    /// question_id + round_id x 1e6. A broken line is an error naming it.
    /// </summary>
    public static IReadOnlyList<AnswerRow> Read(string path)
    {
        var rows = new List<AnswerRow>();
        foreach (var (row, line) in JsonFiles.ReadJsonl(path))
        {
            var where = $"{path}:{line}";
            var id = JsonFiles.Id(row, "question_id", where);
            if (JsonFiles.OptStr(row, "round_id") is { } round && round != "0")
            {
                if (!long.TryParse(id, out var q) || !long.TryParse(round, out var r))
                    throw new InvalidDataException($"{where}: question_id and round_id must be integers when round_id is given");
                id = (q + r * MmbenchTsvReader.CircularStride).ToString(CultureInfo.InvariantCulture);
            }
            rows.Add(new AnswerRow(line, id, JsonFiles.Str(row, "text", where), JsonFiles.OptStr(row, "prompt")));
        }
        return rows;
    }
}
