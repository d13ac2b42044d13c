namespace MultiLora.Eval.Samples;

/// <summary>
/// The cell texts pandas reads as missing by default (read_table, read_excel): its STR_NA_VALUES, plus "None",
/// which pandas 2 added. MMBench's TSV options and the predictions of LLaVA's MMBench upload pass through pandas
/// before VLMEvalKit sees them, so these texts arrive there as NaN.
/// </summary>
public static class PandasNa
{
    public static readonly IReadOnlySet<string> Values = new HashSet<string>(StringComparer.Ordinal)
    {
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL",
        "NaN", "None", "n/a", "nan", "null",
    };
}
