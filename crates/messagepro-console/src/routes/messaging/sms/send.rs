//! One SMS: the send page, its live segment counter and cost, and the submit.

use super::*;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct SendForm {
    phone: String,
    message: String,
    nonce: String,
    mode: String,
    device: String,
    sim: String,
    priority: Option<String>,
    gateway: String,
}

impl SendForm {
    fn route_fields(&self) -> RouteFields {
        RouteFields {
            mode: self.mode.clone(),
            device: self.device.clone(),
            sim: self.sim.clone(),
            priority: self.priority.clone(),
            gateway: self.gateway.clone(),
        }
    }
}

/// The live counter (also rendered inside the send and campaign pages).
#[derive(Debug, Clone)]
pub struct Counter {
    pub unicode: bool,
    pub characters: usize,
    pub segments: usize,
    pub remaining: usize,
    /// Estimated cost, credits mode only.
    pub cost: Option<String>,
}

/// The counter as sentences in the user's language (what the fragment shows).
#[derive(Debug, Clone)]
pub struct CounterView {
    pub encoding: String,
    pub characters: String,
    pub segments: String,
    pub left: String,
    pub cost: Option<String>,
}

impl Counter {
    pub(super) fn view(&self, ui: &Ui) -> CounterView {
        let n = |key: &str, v: usize| ui.tf(key, &[("n", &v.to_string())]);
        CounterView {
            encoding: ui.t(if self.unicode {
                "sms.counter.unicode"
            } else {
                "sms.counter.gsm7"
            }),
            characters: n("sms.counter.characters", self.characters),
            segments: n("sms.counter.segments", self.segments),
            left: n("sms.counter.left", self.remaining),
            cost: self
                .cost
                .as_ref()
                .map(|c| ui.tf("sms.counter.cost", &[("cost", c)])),
        }
    }

    pub(super) fn of(text: &str) -> Counter {
        let a = analyze(text);
        Counter {
            unicode: a.encoding == Encoding::Ucs2,
            characters: a.characters,
            segments: a.segments,
            remaining: a.remaining,
            cost: None,
        }
    }
}

#[derive(Template)]
#[template(path = "messaging/sms_send.html")]
pub(super) struct SendPage {
    page: PageCtx,
    form: SendForm,
    credits: bool,
    sim2: bool,
    choices: Choices,
    counter: CounterView,
    error: Option<String>,
    nonce: String,
}

#[derive(Template)]
#[template(path = "messaging/sms_counter.html")]
pub(super) struct CounterFragment {
    counter: CounterView,
}

pub(super) async fn render_send(
    ui: &Ui,
    form: SendForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let country = Phone::parse(&form.phone, &ui.state.settings.default_country)
        .ok()
        .and_then(|p| p.region().map(str::to_owned))
        .unwrap_or_else(|| ui.state.settings.default_country.clone());
    let rf = form.route_fields();
    let choices = load_choices(&ui.state, &country, &rf, ui.lang).await;
    let mut counter = Counter::of(&form.message);
    if rf.is_credits() {
        counter.cost = cost_for_one(&ui.state, &choices.rates, &form, ui.lang);
    }
    let mut r = render(&SendPage {
        page: ui.page("sms.send.title"),
        credits: rf.is_credits(),
        sim2: form.sim == "2",
        form,
        choices,
        counter: counter.view(ui),
        error,
        nonce: ui.form_nonce().await?,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

/// The estimated cost of the single SMS of `form` (credits mode), when its number is valid and
/// the route has a price for it.
pub(super) fn cost_for_one(
    state: &AppState,
    rates: &Rates,
    form: &SendForm,
    lang: crate::i18n::Lang,
) -> Option<String> {
    let phone = Phone::parse(&form.phone, &state.settings.default_country).ok()?;
    let segments = analyze(&form.message).segments.max(1);
    pricing::estimate(
        rates,
        form.gateway.trim(),
        &[phone],
        segments,
        &state.settings.default_country,
    )
    .map(|e| price_text(&e.total, lang))
}

#[tracing::instrument(skip_all)]
pub(super) async fn send_page(
    ui: Ui,
    Query(route): Query<RouteFields>,
) -> Result<Response, AppError> {
    // `?mode=…&device=…`: the route of the previous send stays selected
    let form = SendForm {
        mode: if route.mode == "credits" {
            "credits".into()
        } else {
            "devices".into()
        },
        sim: if route.sim == "2" {
            "2".into()
        } else {
            "1".into()
        },
        device: route.device,
        gateway: route.gateway,
        priority: route.priority,
        ..Default::default()
    };
    render_send(&ui, form, None, StatusCode::OK).await
}

/// The send page with the route of `form` selected.
pub(super) fn send_page_url(form: &SendForm) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("mode", &form.mode)
        .append_pair("device", &form.device)
        .append_pair("sim", &form.sim)
        .append_pair("gateway", &form.gateway);
    if form.priority.is_some() {
        q.append_pair("priority", "1");
    }
    format!("/messaging/sms/send?{}", q.finish())
}

#[tracing::instrument(skip_all)]
pub(super) async fn send_submit(ui: Ui, Form(form): Form<SendForm>) -> Result<Response, AppError> {
    let phone = match Phone::parse(form.phone.trim(), &ui.state.settings.default_country) {
        Ok(p) => p,
        Err(_) => {
            let msg = ui.tf("sms.error.invalid_phone", &[("input", form.phone.trim())]);
            return render_send(&ui, form, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    if form.message.trim().is_empty() {
        let msg = ui.t("send.error.empty_text");
        return render_send(&ui, form, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let route = match form.route_fields().route() {
        Ok(r) => r,
        Err(key) => {
            let msg = ui.t(key);
            return render_send(&ui, form, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let e164 = phone.e164().to_owned();
    if !ui.use_nonce(&form.nonce).await? {
        tracing::info!("send form submitted twice (or without its token): ignored");
        flash(&ui.session, "error", ui.t("sms.send.duplicate")).await?;
        return Ok(Redirect::to("/messaging/sms/history").into_response());
    }
    let req = SendRequest::sms(phone, form.message.clone(), route);
    match ui.state.core.submit(&ui.actor()?, req).await {
        Ok(outcome) => {
            let key = match outcome.status {
                MessageStatus::Sent => "sms.send.done_sent",
                MessageStatus::Unknown => "sms.send.done_unknown",
                MessageStatus::Queued | MessageStatus::Sending => "sms.send.done_queued",
                _ => "sms.send.done_pending",
            };
            let kind = if outcome.status == MessageStatus::Unknown {
                "error"
            } else {
                "success"
            };
            flash(&ui.session, kind, ui.tf(key, &[("phone", &e164)])).await?;
            Ok(Redirect::to(&send_page_url(&form)).into_response())
        }
        Err(SendError::Forbidden) => Err(AppError::Forbidden),
        Err(SendError::Store(e)) => Err(e.into()),
        Err(e) => {
            let msg = crate::send::user_message(&e, &ui.state.i18n, ui.lang);
            let mut form = form;
            form.phone = e164;
            render_send(&ui, form, Some(msg), StatusCode::OK).await
        }
    }
}

/// The counter fragment for the text being typed (htmx, `input changed delay:150ms`).
#[tracing::instrument(skip_all)]
pub(super) async fn analyze_fragment(
    ui: Ui,
    Form(form): Form<SendForm>,
) -> Result<Response, AppError> {
    let mut counter = Counter::of(&form.message);
    if form.route_fields().is_credits()
        && !form.gateway.trim().is_empty()
        && let Ok(rates) = ui.state.core.rates_read().await.map(|r| r.value)
    {
        counter.cost = cost_for_one(&ui.state, &rates, &form, ui.lang);
    }
    render(&CounterFragment {
        counter: counter.view(&ui),
    })
}
