//! The landing page and the signed-in home.

use askama::Template;
use axum::{Router, response::Html, routing::get};

use super::{current_user::CurrentUser, error::AppError, layout::Layout};
use crate::{state::AppState, store::users::User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/dashboard", get(dashboard))
}

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    layout: Layout,
}

async fn landing(layout: Layout) -> Result<Html<String>, AppError> {
    Ok(Html(LandingPage { layout }.render()?))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    user: User,
}

async fn dashboard(
    layout: Layout,
    CurrentUser(user): CurrentUser,
) -> Result<Html<String>, AppError> {
    Ok(Html(DashboardPage { layout, user }.render()?))
}
