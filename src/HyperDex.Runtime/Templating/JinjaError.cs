namespace HyperDex.Runtime.Templating;

/// <summary>
/// A failure while parsing or rendering a template, named as Python names it (TemplateError, TypeError,
/// UndefinedError, TemplateSyntaxError, SecurityError ...) so messages read as they do under transformers.
/// </summary>
internal sealed class JinjaError : Exception
{
    public JinjaError(string pythonType, string message, int line = 0)
        : base(message)
    {
        PythonType = pythonType;
        Line = line;
    }

    /// <summary>The Python exception class Jinja2 would raise here.</summary>
    public string PythonType { get; }

    /// <summary>The template line (1-based), 0 when unknown.</summary>
    public int Line { get; set; }

    public static JinjaError Type(string message) => new("TypeError", message);

    public static JinjaError Runtime(string message) => new("TemplateRuntimeError", message);

    public static JinjaError Syntax(string message, int line) => new("TemplateSyntaxError", message, line);
}
