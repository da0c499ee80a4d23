import DensityMetric
import DensityStore
import DensityViews
import Foundation

/// The pages: self-contained HTML (inline CSS and script, nothing fetched from elsewhere: the
/// ``contentSecurityPolicy`` forbids it) that read the JSON API and the panels, and reload them
/// when `/api/events` says the store changed.
enum Pages {
    /// Only this server's own inline script and style, and requests back to it.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The most checkpoints drawn as heatmap columns (evenly spaced, as in the report).
    static let heatmapColumns = 200

    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:980px;color:#222}
        h1{font-size:1.4em}table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:right}
        td:first-child,th:first-child{text-align:left}.panel{margin:1em 0}h2{font-size:1.15em}#bin-list{font-family:monospace;max-height:14em;overflow:auto}
        #status{color:#666}.bar{cursor:pointer}.bar:hover{opacity:.7}a.feature{cursor:pointer;color:#1a5fb4;margin-right:.6em}
        """

    /// `live(onChange)`: follows `/api/events`, calling `onChange` on each message (the first comes
    /// at once, so a page reloads its data whenever it reconnects). After a refusal (503) or a
    /// stream the browser gave up on, it tries again after 1 s, then 2, 4, ... up to 30 s, and says
    /// so in `#live`.
    static let liveScript = """
        function live(onChange){let delay=1000;const say=t=>{const e=document.getElementById('live');if(e)e.textContent=t};
        function connect(){const es=new EventSource('/api/events');es.onopen=()=>{delay=1000;say('live')};es.onmessage=onChange;
        es.onerror=()=>{if(es.readyState!==EventSource.CLOSED){say('reconnecting');return}es.close();
        say('offline, retrying in '+Math.round(delay/1000)+' s');setTimeout(connect,delay);delay=Math.min(delay*2,30000)}}
        connect()}
        """

    /// The page around a body.
    static func page(title: String, _ body: String, script: String) -> String {
        """
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>\(SVG.escape(title))</title>
        <style>\(style)</style></head><body>\(body)<script>\(liveScript)
        \(script)</script></body></html>
        """
    }

    /// `/runs/RUN`: the report's panels, a feature box, the histogram's bars listing their features.
    /// - Parameters:
    ///   - run: The run.
    ///   - shown: The name the server knows it by (`name@store` when two stores hold that name).
    static func run(_ run: Run, shownAs shown: String) -> String {
        let name = SVG.escape(shown)
        let component = run.components.map { "component <input id=\"component\" type=\"number\" min=\"0\" max=\"\($0 - 1)\" value=\"0\" style=\"width:5em\"> " } ?? ""
        return page(title: "density: \(shown)", """
            <p><a href="/">runs</a></p><h1>Run '\(name)'</h1>
            <p id="status">step <span id="step">-</span>, <span id="vectors">-</span> vectors, <span id="dead">-</span> dead, <span id="dense">-</span> dense; <span id="live">live</span></p>
            <form id="trend-form">\(component)feature <input id="feature" type="number" min="0" max="\(run.features - 1)" style="width:8em">
            <button type="submit">draw trend</button> <span id="trend-error"></span></form>
            <div id="trend" class="panel"></div>
            <div id="bin" class="panel"><div id="bin-title">click a histogram bar to list its features</div><div id="bin-list"></div></div>
            <div id="panels"></div>
            """, script: """
            const run=\(jsString(shown)), base='/api/runs/'+encodeURIComponent(run);
            let shown=null;
            function q(p){return new URLSearchParams(p).toString()}
            function esc(s){return String(s).replace(/[&<>"']/g,c=>'&#'+c.charCodeAt(0)+';')}
            async function show(){const r=await fetch(base+'/show');if(!r.ok)return;const s=await r.json();
            for(const k of ['step','vectors','dead','dense'])document.getElementById(k).textContent=s[k]}
            async function panels(){const r=await fetch('/ui/runs/'+encodeURIComponent(run)+'/panels');
            document.getElementById('panels').innerHTML=await r.text();
            document.querySelectorAll('#panels svg[data-panel=histogram] rect.bar').forEach(b=>b.addEventListener('click',()=>bin(b)))}
            async function bin(bar){const svg=bar.closest('svg');const p={step:svg.dataset.step,bin:bar.dataset.bin,bins:svg.querySelectorAll('rect.bar').length};
            const d=await (await fetch(base+'/bin?'+q(p))).json();
            document.getElementById('bin-title').textContent=d.error||('step '+d.step+', log10 density ['+d.low+', '+d.high+'): '+d.count+' features'+(d.count>d.features.length?' (first '+d.features.length+')':''));
            document.getElementById('bin-list').innerHTML=(d.features||[]).map(f=>'<a class="feature" data-feature="'+f.feature+'" data-component="'+(f.component??'')+'">'+(f.component!=null?f.component+':':'')+f.feature+'</a>').join(' ');
            document.querySelectorAll('#bin-list a.feature').forEach(a=>a.addEventListener('click',()=>{document.getElementById('feature').value=a.dataset.feature;
            const c=document.getElementById('component');if(c&&a.dataset.component!=='')c.value=a.dataset.component;trend()}))}
            async function trend(){const f=document.getElementById('feature').value;if(f==='')return;const p={feature:f};
            const c=document.getElementById('component');if(c)p.component=c.value;
            const r=await fetch('/ui/runs/'+encodeURIComponent(run)+'/trend?'+q(p));const e=document.getElementById('trend-error');
            if(!r.ok){e.textContent=(await r.json()).error;return}e.textContent='';shown=p;document.getElementById('trend').innerHTML=await r.text()}
            document.getElementById('trend-form').addEventListener('submit',ev=>{ev.preventDefault();trend()});
            function refresh(){show();panels();if(shown)trend()}
            refresh();live(refresh);
            """)
    }

    /// The run page's panels from the summaries stored with each checkpoint (no counts decoded):
    /// the histogram at the latest checkpoint, dead and dense over training, vectors, the heatmap.
    static func panels(_ store: DensityStore, run name: String) throws -> String {
        let (summaries, none) = try store.read { snapshot in
            let summaries = try snapshot.summaries(run: name)
            return (summaries, summaries.isEmpty ? try snapshot.noCheckpointYet(run: name) : nil)
        }
        guard let (latest, summary) = summaries.last else { return "<p>\(SVG.escape(none!.description))</p>" }
        let kept = TrendThinning.thin(summaries.count, every: nil, points: heatmapColumns)
        let columns = kept.map { (step: summaries[$0].checkpoint.step, histogram: summaries[$0].summary.histogram) }
        let panels = [
            ReportPanels.histogram(run: name, step: latest.step, summary: summary),
            ReportPanels.deadDense(run: name, points: summaries.map { (step: $0.checkpoint.step, dead: $0.summary.dead, dense: $0.summary.dense) }),
            ReportPanels.vectors(run: name, points: summaries.map { (step: $0.checkpoint.step, vectors: $0.summary.vectors) }),
            ReportPanels.heatmap(run: name, columns: columns, total: summaries.count),
        ]
        return panels.map { "<div class=\"panel\">" + $0.xml + "</div>" }.joined(separator: "\n")
    }

    /// A JavaScript string literal holding `text`, safe inside a `<script>` element.
    static func jsString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"", "\\", "<", ">", "&", "'": out += String(format: "\\u%04x", scalar.value)
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
