namespace MultiLora.Data.Synthetic;

/// <summary>The shapes the synthetic images contain: four, so a 4-option question has a 25% chance level.</summary>
public enum ShapeKind { Circle, Square, Triangle, Cross }

/// <summary>Four strongly distinct colours, easy to tell apart at 32 px.</summary>
public enum ShapeColour { Red, Green, Blue, Yellow }

/// <summary>Where a shape sits when there are two: side by side (left/right) or stacked (top/bottom).</summary>
public enum ShapePosition { Left, Right, Top, Bottom }

/// <summary>Words and RGB values of the vocabulary, in one place.</summary>
public static class SceneVocabulary
{
    public static IReadOnlyList<ShapeKind> Shapes { get; } = Enum.GetValues<ShapeKind>();
    public static IReadOnlyList<ShapeColour> Colours { get; } = Enum.GetValues<ShapeColour>();

    public static string Word(ShapeKind shape) => shape.ToString().ToLowerInvariant();
    public static string Word(ShapeColour colour) => colour.ToString().ToLowerInvariant();
    public static string Word(ShapePosition position) => position.ToString().ToLowerInvariant();
    public static string CountWord(int count) => count switch { 1 => "one", 2 => "two", 3 => "three", _ => count.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    public static (byte R, byte G, byte B) Rgb(ShapeColour colour) => colour switch
    {
        ShapeColour.Red => (220, 30, 30),
        ShapeColour.Green => (30, 170, 50),
        ShapeColour.Blue => (30, 70, 220),
        _ => (235, 200, 20),
    };
}
