/**
 * Splits one documented command line into its words the way a POSIX shell would for the simple
 * lines docs print: single quotes, double quotes (with \" and \\), backslash escapes, and a
 * trailing `# comment`. Anything a plain word list cannot carry (pipes, `&&`, `;`, `$`,
 * backticks, redirections) is refused, so an example that needs a real shell is noticed.
 */
export function shellWords(line: string): string[] {
  const words: string[] = []
  let word = ""
  let inWord = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (c === "'") {
      const end = line.indexOf("'", i + 1)
      if (end < 0) throw new Error(`unterminated ' in: ${line}`)
      word += line.slice(i + 1, end)
      inWord = true
      i = end
    } else if (c === '"') {
      i++
      for (; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) i++
        else if (line[i] === "$" || line[i] === "`") throw new Error(`needs a shell ($ or \` in double quotes): ${line}`)
        word += line[i]
      }
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`)
      inWord = true
    } else if (c === "\\") {
      word += line[++i] ?? ""
      inWord = true
    } else if (c === " " || c === "\t") {
      if (inWord) words.push(word)
      word = ""
      inWord = false
    } else if (c === "#" && !inWord) {
      break
    } else if ("|&;<>$`()".includes(c)) {
      throw new Error(`needs a shell (${c}): ${line}`)
    } else {
      word += c
      inWord = true
    }
  }
  if (inWord) words.push(word)
  return words
}
