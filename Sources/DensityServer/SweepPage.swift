/// `/`: the sweep table of every run of every store served, and overlays of the runs selected in
/// it. The table shows each run's meta fields as columns, its latest step and vectors, dead and
/// dense counts and fractions, mean log10 density, checkpoints, when its latest checkpoint landed,
/// its rate, and sparklines of its dead and dense fractions (`/api/runs`); a click on a header
/// sorts by that column, and the filter box keeps the rows matching every word (`l1=0.001` matches
/// that column, other words any column). Stores that cannot be read are listed (`/api/stores`).
/// The overlays, drawn here from `/api/runs/RUN/summaries` and `/trend`: dead and dense fractions
/// against step or vectors, the latest log10-density histograms, and a feature's trend for the
/// selected runs of one width. Everything reloads when a store changes.
enum SweepPage {
    /// The page.
    static func html() -> String {
        Pages.page(title: "density runs", """
            <h1>Runs</h1><p id="status"><span id="live">live</span>: the table and the overlays reload when a checkpoint lands</p>
            <p id="skipped"></p>
            <p><input id="filter" type="search" placeholder="filter: l1=0.001, or any text" style="width:24em"> <span id="shown"></span></p>
            <div style="overflow-x:auto"><table id="runs"><thead></thead><tbody></tbody></table></div>
            <h2>Overlay</h2>
            <p id="overlay-note">select runs in the table to overlay them</p>
            <p>x: <label><input type="radio" name="x" value="step" checked> step</label>
            <label><input type="radio" name="x" value="vectors"> vectors seen</label></p>
            <div id="overlay-dead" class="panel"></div><div id="overlay-dense" class="panel"></div>
            <div id="overlay-histogram" class="panel"></div>
            <form id="trend-form">feature <input id="feature" type="number" min="0" style="width:8em">
            <button type="submit">draw trend</button> <span id="trend-note"></span></form>
            <div id="overlay-trend" class="panel"></div>
            """, script: script)
    }

    static let script = """
        function esc(s){return String(s).replace(/[&<>"']/g,c=>'&#'+c.charCodeAt(0)+';')}
        const S={runs:[],sort:'name',dir:1,selected:new Set(),x:'step',feature:null,busy:0};
        const colors=['#1a5fb4','#c01c28','#26a269','#e66100','#613583','#865e3c','#2ec27e','#f5c211','#3584e4','#77767b'];
        function age(r){return r.latest_checkpoint_at?Math.max(0,(Date.now()-Date.parse(r.latest_checkpoint_at))/1000):null}
        function ageText(s){if(s==null)return'-';if(s<90)return Math.round(s)+' s ago';if(s<5400)return Math.round(s/60)+' min ago';if(s<172800)return(s/3600).toFixed(1)+' h ago';return(s/86400).toFixed(1)+' d ago'}
        function pct(v){return v==null?'-':(100*v).toFixed(2)+'%'}
        function metaText(v){return v==null?'':typeof v==='object'?JSON.stringify(v):String(v)}
        function columns(){const keys=[...new Set(S.runs.flatMap(r=>r.meta&&typeof r.meta==='object'?Object.keys(r.meta):[]))].sort();
        return[{key:'name',label:'run',value:r=>r.name},
        ...keys.map(k=>({key:'meta.'+k,label:k,meta:true,value:r=>r.meta&&k in r.meta?r.meta[k]:null,text:r=>r.meta&&k in r.meta?metaText(r.meta[k]):'-'})),
        {key:'features',label:'features',value:r=>r.components?r.components+'x'+r.features:r.features},
        {key:'latest_step',label:'latest step',value:r=>r.latest_step},{key:'vectors',label:'vectors',value:r=>r.vectors},
        {key:'dead',label:'dead',value:r=>r.dead&&r.dead.count},{key:'dead_fraction',label:'dead %',value:r=>r.dead&&r.dead.fraction,text:r=>pct(r.dead&&r.dead.fraction)},
        {key:'dense',label:'dense',value:r=>r.dense&&r.dense.count},{key:'dense_fraction',label:'dense %',value:r=>r.dense&&r.dense.fraction,text:r=>pct(r.dense&&r.dense.fraction)},
        {key:'mean_log10_density',label:'mean log10 density',value:r=>r.mean_log10_density,text:r=>r.mean_log10_density==null?'-':r.mean_log10_density.toFixed(3)},
        {key:'checkpoints',label:'checkpoints',value:r=>r.checkpoints},
        {key:'latest_checkpoint',label:'latest checkpoint',value:r=>age(r),text:r=>ageText(age(r))+(r.mirror?' (mirror '+ageText(r.mirror.age_seconds)+')':'')},
        {key:'rate',label:'steps/s',value:r=>r.rate&&r.rate.steps_per_second,text:r=>r.rate?r.rate.steps_per_second.toPrecision(3):'-'},
        {key:'trail',label:'dead / dense',html:r=>spark(r.trail)}]}
        function cell(c,r){if(c.text)return c.text(r);const v=c.value(r);return v==null?'-':String(v)}
        function spark(t){if(!t||!t.length)return'';const w=120,h=24,s0=t[0][0],s1=t[t.length-1][0]||1;
        const top=Math.max(1e-3,...t.flatMap(p=>[p[1]||0,p[2]||0]));
        const line=(i,c)=>{const pts=t.filter(p=>p[i]!=null).map(p=>((s1>s0?(p[0]-s0)/(s1-s0):1)*(w-2)+1).toFixed(1)+','+(h-1-(p[i]/top)*(h-2)).toFixed(1));
        return'<polyline class="spark-'+c+'" fill="none" stroke="'+(c==='dead'?'#c01c28':'#1a5fb4')+'" stroke-width="1.3" points="'+pts.join(' ')+'"/>'};
        return'<svg class="spark" width="'+w+'" height="'+h+'" viewBox="0 0 '+w+' '+h+'"><title>dead (red), dense (blue); top '+pct(top)+'</title>'+line(1,'dead')+line(2,'dense')+'</svg>'}
        function matches(r,cols,word){const eq=word.indexOf('=');
        if(eq>0){const k=word.slice(0,eq).toLowerCase(),v=word.slice(eq+1);const c=cols.find(c=>c.key.toLowerCase()===k||c.label.toLowerCase()===k||c.key.toLowerCase()==='meta.'+k);
        if(c&&!c.html){const t=cell(c,r);return t===v||(v!==''&&!isNaN(Number(v))&&!isNaN(Number(t))&&Number(t)===Number(v))}}
        const w=word.toLowerCase();return cols.some(c=>!c.html&&cell(c,r).toLowerCase().includes(w))}
        function compare(a,b){if(a==null&&b==null)return 0;if(a==null)return 1;if(b==null)return -1;
        if(typeof a==='number'&&typeof b==='number')return a-b;return String(a).localeCompare(String(b),undefined,{numeric:true})}
        function render(){const cols=columns();
        document.querySelector('#runs thead').innerHTML='<tr><th></th>'+cols.map(c=>'<th data-key="'+esc(c.key)+'"'+(c.html?'':' style="cursor:pointer"')+(c.meta?' class="meta"':'')+'>'+esc(c.label)+(S.sort===c.key?(S.dir>0?' \\u25b2':' \\u25bc'):'')+'</th>').join('')+'</tr>';
        const words=document.getElementById('filter').value.trim().split(/\\s+/).filter(w=>w);
        const sortCol=cols.find(c=>c.key===S.sort)||cols[0];
        const rows=S.runs.filter(r=>words.every(w=>matches(r,cols,w))).sort((a,b)=>{const d=compare(sortCol.value(a),sortCol.value(b));return d===0?compare(a.name,b.name):(sortCol.value(a)==null||sortCol.value(b)==null?d:d*S.dir)});
        document.getElementById('shown').textContent=rows.length+' of '+S.runs.length+' runs';
        document.querySelector('#runs tbody').innerHTML=rows.map(r=>'<tr data-name="'+esc(r.name)+'"><td><input type="checkbox" class="pick" data-name="'+esc(r.name)+'"'+(S.selected.has(r.name)?' checked':'')+'></td>'
        +cols.map(c=>'<td>'+(c.key==='name'?'<a href="/runs/'+encodeURIComponent(r.name)+'">'+esc(r.name)+'</a>':c.html?c.html(r):esc(cell(c,r)))+'</td>').join('')+'</tr>').join('')}
        document.querySelector('#runs thead').addEventListener('click',e=>{const th=e.target.closest('th[data-key]');if(!th||th.dataset.key==='trail')return;
        if(S.sort===th.dataset.key)S.dir=-S.dir;else{S.sort=th.dataset.key;S.dir=1}render()});
        document.getElementById('filter').addEventListener('input',render);
        document.querySelector('#runs tbody').addEventListener('change',e=>{const b=e.target.closest('input.pick');if(!b)return;
        if(b.checked)S.selected.add(b.dataset.name);else S.selected.delete(b.dataset.name);overlay()});
        document.querySelectorAll('input[name=x]').forEach(b=>b.addEventListener('change',()=>{S.x=b.value;overlay()}));
        document.getElementById('trend-form').addEventListener('submit',e=>{e.preventDefault();const f=document.getElementById('feature').value;S.feature=f===''?null:Number(f);overlay()});
        function chart(id,title,series,xlabel,ylabel,opts){const W=920,H=260,L=70,R=170,T=24,B=36;
        const pts=series.flatMap(s=>s.points);const el=document.getElementById(id);
        if(!pts.length){el.innerHTML='';return}
        let x0=Math.min(...pts.map(p=>p[0])),x1=Math.max(...pts.map(p=>p[0])),y0=opts&&opts.y0!=null?opts.y0:Math.min(...pts.map(p=>p[1])),y1=Math.max(...pts.map(p=>p[1]));
        if(x1<=x0)x1=x0+1;if(y1<=y0)y1=y0+(y0===0?1:Math.abs(y0)*0.1||1);
        const X=v=>L+(v-x0)/(x1-x0)*(W-L-R),Y=v=>H-B-(v-y0)/(y1-y0)*(H-T-B);const f=v=>Math.abs(v)>=1e4?v.toExponential(2):+v.toPrecision(3);
        let g='<svg width="'+W+'" height="'+H+'" data-chart="'+id+'"><text x="'+L+'" y="15" font-weight="bold">'+esc(title)+'</text>';
        g+='<line x1="'+L+'" y1="'+(H-B)+'" x2="'+(W-R)+'" y2="'+(H-B)+'" stroke="#999"/><line x1="'+L+'" y1="'+T+'" x2="'+L+'" y2="'+(H-B)+'" stroke="#999"/>';
        for(let i=0;i<=4;i++){const xv=x0+(x1-x0)*i/4,yv=y0+(y1-y0)*i/4;g+='<text x="'+X(xv)+'" y="'+(H-B+14)+'" font-size="11" text-anchor="middle">'+f(xv)+'</text><text x="'+(L-4)+'" y="'+(Y(yv)+4)+'" font-size="11" text-anchor="end">'+f(yv)+'</text>'}
        g+='<text x="'+((L+W-R)/2)+'" y="'+(H-4)+'" font-size="12" text-anchor="middle">'+esc(xlabel)+'</text><text x="12" y="'+((T+H-B)/2)+'" font-size="12" transform="rotate(-90 12 '+((T+H-B)/2)+')" text-anchor="middle">'+esc(ylabel)+'</text>';
        series.forEach((s,i)=>{const d=s.points.map((p,j)=>(j?'L':'M')+X(p[0]).toFixed(1)+' '+Y(p[1]).toFixed(1)).join('');
        g+='<path class="series" data-run="'+esc(s.name)+'" data-points="'+s.points.length+'" fill="none" stroke="'+s.color+'" stroke-width="1.6" d="'+d+'"/>';
        g+='<rect x="'+(W-R+10)+'" y="'+(T+i*16)+'" width="10" height="10" fill="'+s.color+'"/><text x="'+(W-R+24)+'" y="'+(T+9+i*16)+'" font-size="11">'+esc(s.name)+'</text>'});
        el.innerHTML=g+'</svg>'}
        async function getJSON(url){const r=await fetch(url);const d=await r.json();if(!r.ok)throw new Error(d.error||r.statusText);return d}
        async function overlay(){const gen=++S.busy;const names=[...S.selected].filter(n=>S.runs.some(r=>r.name===n));
        const note=document.getElementById('overlay-note');
        if(!names.length){for(const id of['overlay-dead','overlay-dense','overlay-histogram','overlay-trend'])document.getElementById(id).innerHTML='';note.textContent='select runs in the table to overlay them';return}
        const got=await Promise.all(names.map(n=>getJSON('/api/runs/'+encodeURIComponent(n)+'/summaries').then(d=>({name:n,d}),e=>({name:n,error:e.message}))));
        if(gen!==S.busy)return;
        const ok=got.filter(g=>g.d),bad=got.filter(g=>g.error);const color=n=>colors[names.indexOf(n)%colors.length];
        note.textContent=names.length+' runs selected'+(bad.length?'; not drawn: '+bad.map(b=>b.name+' ('+b.error+')').join(', '):'');
        const xs=d=>S.x==='vectors'?d.vectors:d.step,xl=S.x==='vectors'?'vectors seen':'step';
        const frac=k=>ok.map(g=>({name:g.name,color:color(g.name),points:g.d.step.map((_,i)=>[xs(g.d)[i],g.d[k][i]/(g.d.features*(g.d.components||1))])}));
        chart('overlay-dead','dead fraction over training',frac('dead'),xl,'dead fraction',{y0:0});
        chart('overlay-dense','dense fraction over training',frac('dense'),xl,'dense fraction',{y0:0});
        chart('overlay-histogram','latest log10-density histogram',ok.map(g=>{const h=g.d.histogram[g.d.histogram.length-1],e=g.d.edges,n=g.d.features*(g.d.components||1);
        return{name:g.name+' @'+g.d.step[g.d.step.length-1],color:color(g.name),points:h.map((c,i)=>[(e[i]+e[i+1])/2,c/n])}}),'log10(density + 1e-10)','fraction of features',{y0:0});
        const tn=document.getElementById('trend-note');
        if(S.feature==null){document.getElementById('overlay-trend').innerHTML='';tn.textContent='a feature\\'s density over training, for the selected runs of one width';return}
        const width=r=>r.features+'x'+(r.components||1);const rows=names.map(n=>S.runs.find(r=>r.name===n));const w=width(rows[0]);
        const same=rows.filter(r=>width(r)===w),other=rows.filter(r=>width(r)!==w);
        const tr=await Promise.all(same.map(r=>getJSON('/api/runs/'+encodeURIComponent(r.name)+'/trend?'+new URLSearchParams({feature:S.feature,points:400})).then(d=>({name:r.name,d}),e=>({name:r.name,error:e.message}))));
        if(gen!==S.busy)return;
        tn.textContent='feature '+S.feature+' in '+same.length+' runs of '+rows[0].features+' features'+(other.length?'; other widths left out: '+other.map(r=>r.name).join(', '):'')+tr.filter(t=>t.error).map(t=>'; '+t.name+': '+t.error).join('');
        chart('overlay-trend','feature '+S.feature+': density over training',tr.filter(t=>t.d).map(t=>({name:t.name,color:color(t.name),points:t.d.points.map(p=>[S.x==='vectors'?p.vectors:p.step,p.density])})),xl,'density',{y0:0})}
        async function load(){try{const[runs,stores]=await Promise.all([getJSON('/api/runs'),getJSON('/api/stores')]);S.runs=runs;
        const skipped=stores.filter(s=>!s.readable);document.getElementById('skipped').innerHTML=skipped.length?'<b>skipped '+skipped.length+' of '+stores.length+' stores</b> (they cannot be read now): '+skipped.map(s=>esc(s.path)+': '+esc(s.error)).join('; '):(stores.length>1?stores.length+' stores':'');
        render();await overlay()}catch(e){document.getElementById('shown').textContent='could not load the runs: '+e.message}}
        load();live(load);
        """
}
