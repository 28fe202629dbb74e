import Foundation
import SchoolgatePolicy

/// The guest's page: the school's acceptable-use terms and one accept control. Plain HTML with
/// no script, large text and controls, dark-on-light contrast above WCAG AA, so it works on the
/// smallest phone's sign-in sheet (which often runs no script at all).
enum PortalPage {
    static let style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:1.05rem;line-height:1.55;color:#111;background:#fff;
        max-width:38rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.15rem}
        .terms{border:1px solid #767676;border-radius:.4rem;padding:.25rem 1rem;background:#f7f7f7}
        label{display:block;margin:.9rem 0 .3rem;font-weight:600}input[type=text]{font-size:1rem;width:100%;box-sizing:border-box;
        padding:.6rem;border:2px solid #505050;border-radius:.3rem}.agree{display:flex;gap:.6rem;align-items:flex-start;font-weight:400}
        .agree input{width:1.4rem;height:1.4rem;margin-top:.15rem}button{font-size:1.1rem;font-weight:600;color:#fff;background:#0b4f9c;
        border:0;border-radius:.4rem;padding:.8rem 1.2rem;margin-top:1rem;width:100%}button:focus,input:focus{outline:3px solid #f9a800}
        .note{color:#333;font-size:.95rem}.ok{border-left:.4rem solid #1a7f37;padding-left:.8rem}
        """

    static func terms(school: String, terms: ConsentTerms, token: String, problem: String? = nil) -> String {
        let paragraphs = terms.text.components(separatedBy: "\n\n")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
            .map { "<p>\(HTML.escape($0).replacingOccurrences(of: "\n", with: "<br>"))</p>" }
            .joined(separator: "\n")
        let alert = problem.map { "<p role=\"alert\"><strong>\(HTML.escape($0))</strong></p>" } ?? ""
        return page(title: "Guest Wi-Fi: \(school)", body: """
            <h1>Welcome to the \(HTML.escape(school)) guest network</h1>
            <p>Before you go online, please read and accept the school's acceptable-use terms.</p>
            \(alert)
            <section class="terms" aria-labelledby="terms-title"><h2 id="terms-title">Acceptable use (version \(HTML.escape(terms.version)))</h2>
            \(paragraphs)
            </section>
            <p class="note">The websites visited on this network are filtered and recorded with your device's address,
            as the school's e-safety policy says. Concerns are reviewed by the school's safeguarding lead.</p>
            <form method="post" action="/accept">
            <input type="hidden" name="token" value="\(HTML.escape(token))">
            <label for="name">Your name (optional)</label>
            <input type="text" id="name" name="name" maxlength="64" autocomplete="name">
            <label class="agree"><input type="checkbox" name="agree" value="yes" required>
            <span>I have read and accept the acceptable-use terms.</span></label>
            <button type="submit">Accept and go online</button>
            </form>
            """)
    }

    static func connected(school: String, minutesLeft: Int) -> String {
        page(title: "Connected: \(school)", body: """
            <h1>You're online</h1>
            <p class="ok">Thank you for accepting the terms. You can now use the \(HTML.escape(school)) guest network.</p>
            <p class="note">This session lasts about \(hoursAndMinutes(minutesLeft)) more, or until you stop using it for a while;
            then this page will ask you again.</p>
            """)
    }

    static func hoursAndMinutes(_ minutes: Int) -> String {
        let hours = minutes / 60, rest = minutes % 60
        switch (hours, rest) {
        case (0, let m): return "\(m) minute\(m == 1 ? "" : "s")"
        case (let h, 0): return "\(h) hour\(h == 1 ? "" : "s")"
        case (let h, let m): return "\(h) hour\(h == 1 ? "" : "s") \(m) minute\(m == 1 ? "" : "s")"
        }
    }

    private static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title))</title>
        <style>\(style)</style></head>
        <body><main>
        \(body)
        </main></body></html>

        """
    }
}
